// Validates a plan catalogue field by field, so a typo in a platform team's YAML is refused with
// a message naming the plan and the field, and every problem is reported at once.
import {
  ALLOWED_REPOS_KIND,
  CatalogueError,
  type ConstraintPlan,
  DEFAULT_CLUSTER_CIDRS,
  defaultedBounds,
  type LimitBounds,
  type LimitRangePlan,
  type NetworkProfile,
  type Plan,
  type PlanCatalogue,
  POD_SECURITY_LEVELS,
  type PodSecurityLevel,
  type ResourceList,
} from "./catalogue.ts";
import { type Cidr, parseCidr } from "./cidr.ts";
import {
  DEFAULT_MESH,
  egressHostProblem,
  type MeshProfile,
  MTLS_MODES,
  type MtlsMode,
} from "./mesh.ts";
import { compareQuantities, parseQuantity } from "./quantity.ts";

const PLAN_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const RESOURCE_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/;
const KIND = /^[A-Z][A-Za-z0-9]{0,62}$/;
const PLAN_FIELDS = [
  "description",
  "podSecurity",
  "resourceQuota",
  "limitRange",
  "allowedRegistries",
  "constraints",
  "network",
  "mesh",
];
const LIMIT_TYPES: Record<keyof LimitRangePlan, readonly (keyof LimitBounds)[]> = {
  container: ["default", "defaultRequest", "min", "max", "maxLimitRequestRatio"],
  pod: ["min", "max", "maxLimitRequestRatio"],
  persistentVolumeClaim: ["min", "max"],
};
const NETWORK_FIELDS = ["isolation", "internetEgress", "clusterCIDRs", "https"];
const CONSTRAINT_FIELDS = ["kind", "parameters", "kinds", "enforcementAction"];
const MESH_FIELDS = ["mtls", "egressHosts"];

type Raw = Record<string, unknown>;

function isRecord(value: unknown): value is Raw {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Collects problems for one plan, prefixed with its name and the field path. */
class Problems {
  readonly list: string[] = [];
  add(plan: string | undefined, field: string, message: string): void {
    this.list.push(`${plan === undefined ? "" : `plan "${plan}": `}${field}: ${message}`);
  }
  unknownFields(plan: string, field: string, raw: Raw, known: readonly string[]): void {
    for (const key of Object.keys(raw)) {
      if (!known.includes(key)) {
        this.add(plan, `${field}${key}`, `unknown field (known: ${known.join(", ")})`);
      }
    }
  }
}

/**
 * Validates an untyped catalogue (as parsed from YAML: `{ plans: { <name>: {...} } }`). Throws
 * {@linkcode CatalogueError} listing every problem; `source` names where it came from.
 */
export function validateCatalogue(raw: unknown, source: string): PlanCatalogue {
  const problems = new Problems();
  const plans = new Map<string, Plan>();
  if (!isRecord(raw)) {
    throw new CatalogueError(source, [
      `the catalogue must be a mapping with "plans", got ${show(raw)}`,
    ]);
  }
  for (const key of Object.keys(raw)) {
    if (key !== "plans") problems.add(undefined, key, "unknown top-level field (known: plans)");
  }
  if (!isRecord(raw.plans) || Object.keys(raw.plans).length === 0) {
    problems.add(
      undefined,
      "plans",
      `must map at least one plan name to its settings, got ${show(raw.plans)}`,
    );
  } else {
    for (const [name, value] of Object.entries(raw.plans)) {
      const plan = readPlan(name, value, problems);
      if (plan !== undefined) plans.set(name, plan);
    }
  }
  if (problems.list.length > 0) throw new CatalogueError(source, problems.list);
  return { plans };
}

function readPlan(name: string, raw: unknown, problems: Problems): Plan | undefined {
  const before = problems.list.length;
  if (name.length > 63 || !PLAN_NAME.test(name)) {
    problems.add(
      name,
      "name",
      "must be a valid label value (at most 63 letters, digits, '-', '_', '.')",
    );
  }
  if (!isRecord(raw)) {
    problems.add(name, "(plan)", `must be a mapping of settings, got ${show(raw)}`);
    return undefined;
  }
  problems.unknownFields(name, "", raw, PLAN_FIELDS);
  if (raw.description !== undefined && typeof raw.description !== "string") {
    problems.add(name, "description", `must be a string, got ${show(raw.description)}`);
  }
  const podSecurity = raw.podSecurity ?? "restricted";
  if (!POD_SECURITY_LEVELS.includes(podSecurity as PodSecurityLevel)) {
    problems.add(
      name,
      "podSecurity",
      `must be one of ${POD_SECURITY_LEVELS.join(", ")}, got ${show(podSecurity)}`,
    );
  }
  const resourceQuota = raw.resourceQuota === undefined
    ? undefined
    : readResources(name, "resourceQuota", raw.resourceQuota, problems);
  const limitRange = raw.limitRange === undefined
    ? undefined
    : readLimitRange(name, raw.limitRange, problems);
  const allowedRegistries = readStrings(name, "allowedRegistries", raw.allowedRegistries, problems);
  const constraints = readConstraints(name, raw.constraints, problems);
  if (allowedRegistries.length > 0) {
    if (constraints.some((constraint) => constraint.kind === ALLOWED_REPOS_KIND)) {
      problems.add(
        name,
        "constraints",
        `${ALLOWED_REPOS_KIND} is made from allowedRegistries; do not list it too`,
      );
    }
    constraints.unshift({
      kind: ALLOWED_REPOS_KIND,
      parameters: { repos: allowedRegistries },
      kinds: [{ apiGroups: [""], kinds: ["Pod"] }],
    });
  }
  const network = readNetwork(name, raw.network, problems);
  const mesh = readMesh(name, raw.mesh, problems);
  if (problems.list.length > before) return undefined;
  return {
    name,
    ...(typeof raw.description === "string" ? { description: raw.description } : {}),
    podSecurity: podSecurity as PodSecurityLevel,
    ...(resourceQuota === undefined ? {} : { resourceQuota }),
    ...(limitRange === undefined ? {} : { limitRange }),
    allowedRegistries,
    constraints,
    network,
    mesh,
  };
}

function readResources(
  plan: string,
  field: string,
  raw: unknown,
  problems: Problems,
): ResourceList {
  if (!isRecord(raw)) {
    problems.add(plan, field, `must map resource names to quantities, got ${show(raw)}`);
    return {};
  }
  const list: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    const path = `${field}.${key}`;
    if (key.length > 253 || !RESOURCE_NAME.test(key)) {
      problems.add(plan, path, "not a valid resource name");
      continue;
    }
    const text = typeof value === "number" && Number.isFinite(value) ? String(value) : value;
    const quantity = typeof text === "string" ? parseQuantity(text) : undefined;
    if (typeof text !== "string" || quantity === undefined) {
      problems.add(plan, path, `must be a quantity (e.g. 500m, 2, 1Gi), got ${show(value)}`);
    } else if (quantity.numerator < 0n) {
      problems.add(plan, path, `must not be negative, got ${show(value)}`);
    } else {
      list[key] = text;
    }
  }
  return list;
}

function readLimitRange(plan: string, raw: unknown, problems: Problems): LimitRangePlan {
  const result: Record<string, LimitBounds> = {};
  if (!isRecord(raw)) {
    problems.add(
      plan,
      "limitRange",
      `must be a mapping with container, pod or persistentVolumeClaim, got ${show(raw)}`,
    );
    return {};
  }
  problems.unknownFields(plan, "limitRange.", raw, Object.keys(LIMIT_TYPES));
  for (const [type, fields] of Object.entries(LIMIT_TYPES)) {
    const value = raw[type];
    if (value === undefined) continue;
    if (!isRecord(value)) {
      problems.add(
        plan,
        `limitRange.${type}`,
        `must be a mapping of ${fields.join(", ")}, got ${show(value)}`,
      );
      continue;
    }
    problems.unknownFields(plan, `limitRange.${type}.`, value, fields);
    const bounds: Record<string, ResourceList> = {};
    for (const field of fields) {
      if (value[field] !== undefined) {
        bounds[field] = readResources(plan, `limitRange.${type}.${field}`, value[field], problems);
      }
    }
    checkOrder(plan, `limitRange.${type}`, defaultedBounds(bounds), problems);
    result[type] = bounds;
  }
  return result;
}

function checkOrder(plan: string, field: string, bounds: LimitBounds, problems: Problems): void {
  const order: (keyof LimitBounds)[] = ["min", "defaultRequest", "default", "max"];
  for (let low = 0; low < order.length; low++) {
    for (let high = low + 1; high < order.length; high++) {
      for (const [key, lowText] of Object.entries(bounds[order[low]] ?? {})) {
        const highText = bounds[order[high]]?.[key];
        const a = parseQuantity(lowText);
        const b = highText === undefined ? undefined : parseQuantity(highText);
        if (a !== undefined && b !== undefined && compareQuantities(a, b) > 0) {
          problems.add(
            plan,
            `${field}.${order[low]}.${key}`,
            `${lowText} is above ${order[high]} ${highText}`,
          );
        }
      }
    }
  }
}

function readStrings(plan: string, field: string, raw: unknown, problems: Problems): string[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || !raw.every((item) => typeof item === "string" && item !== "")) {
    problems.add(plan, field, `must be a list of non-empty strings, got ${show(raw)}`);
    return [];
  }
  return [...raw];
}

function readConstraints(plan: string, raw: unknown, problems: Problems): ConstraintPlan[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    problems.add(plan, "constraints", `must be a list of {kind, parameters}, got ${show(raw)}`);
    return [];
  }
  const constraints: ConstraintPlan[] = [];
  raw.forEach((item, index) => {
    const field = `constraints[${index}]`;
    if (!isRecord(item)) {
      problems.add(plan, field, `must be a mapping with kind and parameters, got ${show(item)}`);
      return;
    }
    problems.unknownFields(plan, `${field}.`, item, CONSTRAINT_FIELDS);
    if (typeof item.kind !== "string" || !KIND.test(item.kind)) {
      problems.add(
        plan,
        `${field}.kind`,
        `must be a constraint kind such as K8sRequiredLabels, got ${show(item.kind)}`,
      );
      return;
    }
    if (constraints.some((other) => other.kind === item.kind)) {
      problems.add(plan, `${field}.kind`, `${item.kind} is listed twice`);
    }
    if (item.parameters !== undefined && !isRecord(item.parameters)) {
      problems.add(plan, `${field}.parameters`, `must be a mapping, got ${show(item.parameters)}`);
    }
    if (item.enforcementAction !== undefined && typeof item.enforcementAction !== "string") {
      problems.add(
        plan,
        `${field}.enforcementAction`,
        `must be a string such as deny, dryrun or warn`,
      );
    }
    const kinds = readMatchKinds(plan, `${field}.kinds`, item.kinds, problems);
    constraints.push({
      kind: item.kind,
      parameters: isRecord(item.parameters) ? item.parameters : {},
      ...(kinds === undefined ? {} : { kinds }),
      ...(typeof item.enforcementAction === "string"
        ? { enforcementAction: item.enforcementAction }
        : {}),
    });
  });
  return constraints;
}

function readMatchKinds(
  plan: string,
  field: string,
  raw: unknown,
  problems: Problems,
): ConstraintPlan["kinds"] {
  if (raw === undefined) return undefined;
  const valid = Array.isArray(raw) &&
    raw.every((entry) =>
      isRecord(entry) &&
      [entry.apiGroups, entry.kinds].every((list) =>
        Array.isArray(list) && list.every((item) => typeof item === "string")
      )
    );
  if (!valid) {
    problems.add(
      plan,
      field,
      `must be a list of {apiGroups: [...], kinds: [...]}, got ${show(raw)}`,
    );
    return undefined;
  }
  return (raw as Raw[]).map((entry) => ({
    apiGroups: [...entry.apiGroups as string[]],
    kinds: [...entry.kinds as string[]],
  }));
}

function readNetwork(plan: string, raw: unknown, problems: Problems): NetworkProfile {
  const network: NetworkProfile = {
    isolation: true,
    internetEgress: true,
    clusterCIDRs: DEFAULT_CLUSTER_CIDRS,
    https: false,
  };
  if (raw === undefined) return network;
  if (!isRecord(raw)) {
    problems.add(
      plan,
      "network",
      `must be a mapping of ${NETWORK_FIELDS.join(", ")}, got ${show(raw)}`,
    );
    return network;
  }
  problems.unknownFields(plan, "network.", raw, NETWORK_FIELDS);
  for (const field of ["isolation", "internetEgress", "https"] as const) {
    const value = raw[field];
    if (value === undefined) continue;
    if (typeof value !== "boolean") {
      problems.add(plan, `network.${field}`, `must be true or false, got ${show(value)}`);
    } else network[field] = value;
  }
  if (raw.clusterCIDRs !== undefined) {
    const cidrs: Cidr[] = [];
    readStrings(plan, "network.clusterCIDRs", raw.clusterCIDRs, problems).forEach((text, index) => {
      const parsed = parseCidr(text);
      if (typeof parsed === "string") problems.add(plan, `network.clusterCIDRs[${index}]`, parsed);
      else cidrs.push(parsed);
    });
    network.clusterCIDRs = cidrs;
  }
  return network;
}

function readMesh(plan: string, raw: unknown, problems: Problems): MeshProfile {
  if (raw === undefined) return DEFAULT_MESH;
  if (!isRecord(raw)) {
    problems.add(plan, "mesh", `must be a mapping of ${MESH_FIELDS.join(", ")}, got ${show(raw)}`);
    return DEFAULT_MESH;
  }
  problems.unknownFields(plan, "mesh.", raw, MESH_FIELDS);
  const mtls = raw.mtls ?? DEFAULT_MESH.mtls;
  if (!MTLS_MODES.includes(mtls as MtlsMode)) {
    problems.add(plan, "mesh.mtls", `must be one of ${MTLS_MODES.join(", ")}, got ${show(mtls)}`);
  }
  const egressHosts: string[] = [];
  readStrings(plan, "mesh.egressHosts", raw.egressHosts, problems).forEach((host, index) => {
    const problem = egressHostProblem(host);
    if (problem !== undefined) problems.add(plan, `mesh.egressHosts[${index}]`, problem);
    else if (!egressHosts.includes(host)) egressHosts.push(host);
  });
  return { mtls: mtls as MtlsMode, egressHosts };
}
