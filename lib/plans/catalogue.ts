// The plan catalogue (DESIGN.md §5, §6): what each plan gives a tenant, validated field by field
// so a typo in a platform team's YAML is refused with a message naming the plan and the field.
import { type Cidr, parseCidr } from "./cidr.ts";
import { compareQuantities, parseQuantity } from "./quantity.ts";

/** Pod Security Standards level, written to the `pod-security.kubernetes.io/*` namespace labels. */
export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

/** Every Pod Security level, most permissive first. */
export const POD_SECURITY_LEVELS: readonly PodSecurityLevel[] = [
  "privileged",
  "baseline",
  "restricted",
];

/** Resource name to quantity, e.g. `{ "requests.cpu": "500m" }`. */
export type ResourceList = Readonly<Record<string, string>>;

/** LimitRange bounds of one item type (`Container`, `Pod` or `PersistentVolumeClaim`). */
export interface LimitBounds {
  /** Default limits of containers without limits (Container only). */
  default?: ResourceList;
  /** Default requests of containers without requests (Container only). */
  defaultRequest?: ResourceList;
  /** Lowest allowed request. */
  min?: ResourceList;
  /** Highest allowed limit. */
  max?: ResourceList;
  /** Highest allowed limit/request ratio (Container and Pod). */
  maxLimitRequestRatio?: ResourceList;
}

/** The plan's LimitRange, one optional entry per item type. */
export interface LimitRangePlan {
  /** `type: Container`. */
  container?: LimitBounds;
  /** `type: Pod` (no defaults). */
  pod?: LimitBounds;
  /** `type: PersistentVolumeClaim` (min and max only). */
  persistentVolumeClaim?: LimitBounds;
}

/** Network isolation settings of a plan. */
export interface NetworkProfile {
  /** Whether the tenant gets the `kleff-isolation` NetworkPolicy (default true). */
  isolation: boolean;
  /** Whether pods may reach addresses outside {@linkcode NetworkProfile.clusterCIDRs} (default true). */
  internetEgress: boolean;
  /**
   * Private ranges excluded from internet egress: where pod, service and node addresses (and the
   * cloud metadata endpoint) live, parsed (each with its address family). Default: RFC 1918,
   * CGNAT, link-local, IPv6 ULA and link-local.
   */
  clusterCIDRs: readonly Cidr[];
  /** Whether the tenant's Istio Gateway also serves HTTPS on 443 with a per-tenant certificate. */
  https: boolean;
}

/** A Gatekeeper constraint the plan asks for, scoped to the tenant namespace. */
export interface ConstraintPlan {
  /** The constraint kind (the ConstraintTemplate's `spec.crd.spec.names.kind`), e.g. `K8sAllowedRepos`. */
  kind: string;
  /** `spec.parameters`. */
  parameters: Readonly<Record<string, unknown>>;
  /** `spec.match.kinds`; absent = every kind. */
  kinds?: readonly { apiGroups: readonly string[]; kinds: readonly string[] }[];
  /** `spec.enforcementAction`; absent = Gatekeeper's default (deny). */
  enforcementAction?: string;
}

/** One validated plan. */
export interface Plan {
  /** The plan name (a Tenant's `spec.plan`). */
  name: string;
  /** Free text for humans. */
  description?: string;
  /** The Pod Security level of the namespace (default `restricted`). */
  podSecurity: PodSecurityLevel;
  /** `ResourceQuota` `spec.hard`; absent = no quota object. */
  resourceQuota?: ResourceList;
  /** The `LimitRange`; absent = no LimitRange object. */
  limitRange?: LimitRangePlan;
  /** Image registry prefixes pods may use (a `K8sAllowedRepos` constraint); empty = any. */
  allowedRegistries: readonly string[];
  /** Gatekeeper constraints, including the one made from `allowedRegistries`. */
  constraints: readonly ConstraintPlan[];
  /** Network isolation settings. */
  network: NetworkProfile;
}

/** A validated catalogue: plan name to plan. */
export interface PlanCatalogue {
  /** Every plan by name. */
  plans: ReadonlyMap<string, Plan>;
}

/** The constraint kind made from a plan's `allowedRegistries` (gatekeeper-library's template). */
export const ALLOWED_REPOS_KIND = "K8sAllowedRepos";

/** The default {@linkcode NetworkProfile.clusterCIDRs}. */
export const DEFAULT_CLUSTER_CIDRS: readonly Cidr[] = [
  { family: 4, text: "10.0.0.0/8" },
  { family: 4, text: "172.16.0.0/12" },
  { family: 4, text: "192.168.0.0/16" },
  { family: 4, text: "100.64.0.0/10" },
  { family: 4, text: "169.254.0.0/16" },
  { family: 6, text: "fc00::/7" },
  { family: 6, text: "fe80::/10" },
];

/** Thrown for a catalogue that cannot be used; `problems` name the plan and field of each. */
export class CatalogueError extends Error {
  /** One line per problem, e.g. `plan "free": resourceQuota.pods: ...`. */
  readonly problems: readonly string[];

  /** Builds the error naming where the catalogue came from. */
  constructor(source: string, problems: readonly string[]) {
    super(`invalid plan catalogue from ${source}:\n  - ${problems.join("\n  - ")}`);
    this.name = "CatalogueError";
    this.problems = problems;
  }
}

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
];
const LIMIT_TYPES: Record<keyof LimitRangePlan, readonly (keyof LimitBounds)[]> = {
  container: ["default", "defaultRequest", "min", "max", "maxLimitRequestRatio"],
  pod: ["min", "max", "maxLimitRequestRatio"],
  persistentVolumeClaim: ["min", "max"],
};
const NETWORK_FIELDS = ["isolation", "internetEgress", "clusterCIDRs", "https"];
const CONSTRAINT_FIELDS = ["kind", "parameters", "kinds", "enforcementAction"];

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

/**
 * The bounds of a `Container` item after the API server's defaulting: a missing default limit
 * becomes `max`, a missing default request becomes the default limit, else `min` (per resource).
 */
export function defaultedBounds(bounds: LimitBounds): LimitBounds {
  const defaults: Record<string, string> = { ...bounds.default };
  for (const [key, value] of Object.entries(bounds.max ?? {})) defaults[key] ??= value;
  const requests: Record<string, string> = { ...bounds.defaultRequest };
  for (const [key, value] of Object.entries(defaults)) requests[key] ??= value;
  for (const [key, value] of Object.entries(bounds.min ?? {})) requests[key] ??= value;
  return {
    ...bounds,
    ...(Object.keys(defaults).length > 0 ? { default: defaults } : {}),
    ...(Object.keys(requests).length > 0 ? { defaultRequest: requests } : {}),
  };
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

/** Every constraint kind any plan names (the Gatekeeper kinds the operator looks for). */
export function constraintKinds(catalogue: PlanCatalogue): string[] {
  const kinds = new Set<string>();
  for (const plan of catalogue.plans.values()) {
    for (const constraint of plan.constraints) kinds.add(constraint.kind);
  }
  return [...kinds].sort();
}

/** The names of plans added, removed or changed between two catalogues, sorted. */
export function changedPlans(before: PlanCatalogue, after: PlanCatalogue): string[] {
  const names = new Set([...before.plans.keys(), ...after.plans.keys()]);
  return [...names].filter((name) =>
    JSON.stringify(before.plans.get(name)) !== JSON.stringify(after.plans.get(name))
  ).sort();
}
