// The plan catalogue: what each plan gives a tenant (quota, limits, Pod Security, network,
// constraints, mesh), as the validated shape the decisions read (validate.ts builds it from YAML).
import type { Cidr } from "./cidr.ts";
import type { MeshProfile } from "./mesh.ts";

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
  /** Istio settings: mutual TLS mode and the Sidecar's extra egress hosts. */
  mesh: MeshProfile;
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
