// Per-plan resource objects (ARCHITECTURE.md §5): the ResourceQuota and LimitRange a plan gives, the
// quota that fails an unknown plan closed, and the step reporting them as ResourcesReady.
import { limitRanges, resourceQuotas } from "../api/mod.ts";
import { ConditionType, EventReason, Reason } from "../api/mod.ts";
import {
  defaultedBounds,
  type LimitBounds,
  type LimitRangePlan,
  type Plan,
  type PlanCatalogue,
  quantityKey,
} from "../plans/mod.ts";
import type { ConditionInput } from "./conditions.ts";
import {
  blockedCondition,
  describeObject,
  type DesiredObject,
  type ObservedKind,
  ownedMetadata,
  type PlanStep,
  syncedStep,
  syncObjects,
  type SyncResult,
} from "./managed.ts";
import { isRecord, type TenantView } from "./spec.ts";

/** Name of the tenant's ResourceQuota. */
export const QUOTA_NAME = "kleff-quota";
/** Name of the tenant's LimitRange. */
export const LIMITS_NAME = "kleff-limits";

/**
 * `spec.hard` of the quota of a tenant whose plan is unknown (fail closed): no pods, no compute,
 * no LoadBalancer or NodePort Services, no PersistentVolumeClaims, no storage.
 */
export const LOCKDOWN_QUOTA: Readonly<Record<string, string>> = {
  pods: "0",
  "requests.cpu": "0",
  "requests.memory": "0",
  "limits.cpu": "0",
  "limits.memory": "0",
  "services.loadbalancers": "0",
  "services.nodeports": "0",
  persistentvolumeclaims: "0",
  "requests.storage": "0",
};

/** Options of {@linkcode desiredQuota}. */
export interface QuotaOptions {
  /** The quota's `spec.hard`. */
  hard: Readonly<Record<string, string>>;
}

/** The ResourceQuota in the tenant's `namespace` with `options.hard`. */
export function desiredQuota(
  tenant: TenantView,
  namespace: string,
  options: QuotaOptions,
): DesiredObject {
  const { hard } = options;
  return {
    resource: resourceQuotas,
    object: {
      apiVersion: "v1",
      kind: "ResourceQuota",
      metadata: ownedMetadata(tenant, QUOTA_NAME, { namespace }),
      spec: { hard: { ...hard } },
    },
    specFields: QUOTA_SPEC_FIELDS,
    normalize: normalizeQuotaSpec,
  };
}

/** The quota `spec` fields the operator owns (anything that could narrow the quota included). */
const QUOTA_SPEC_FIELDS: readonly string[] = ["hard", "scopes", "scopeSelector"];

/** A quota spec in comparable form: its quantities normalised. */
function normalizeQuotaSpec(spec: Record<string, unknown>): Record<string, unknown> {
  return { hard: quantities(spec.hard), scopes: spec.scopes, scopeSelector: spec.scopeSelector };
}

/**
 * The one-line summary of a quota's `spec.hard` for `status.quota` (and `kubectl get tenants -o
 * wide`): `pods=20 cpu=1/2 memory=2Gi/4Gi pvcs=5 storage=20Gi (+2 more)`. CPU and memory read
 * requests/limits, `-` where the quota sets only one of them; only what the quota sets appears, and
 * the number of its other hard limits closes the line. It describes what the operator applies, not
 * live usage, so a status write happens only when the plan changes.
 */
export function quotaSummary(hard: Readonly<Record<string, string>>): string {
  const used = new Set<string>();
  const take = (...keys: string[]) => {
    const key = keys.find((candidate) => hard[candidate] !== undefined);
    if (key === undefined) return undefined;
    used.add(key);
    return hard[key];
  };
  const parts: string[] = [];
  const pods = take("pods");
  if (pods !== undefined) parts.push(`pods=${pods}`);
  for (const resource of ["cpu", "memory"]) {
    const request = take(`requests.${resource}`, resource);
    const limit = take(`limits.${resource}`);
    if (request !== undefined || limit !== undefined) {
      parts.push(`${resource}=${request ?? "-"}/${limit ?? "-"}`);
    }
  }
  const pvcs = take("persistentvolumeclaims");
  if (pvcs !== undefined) parts.push(`pvcs=${pvcs}`);
  const storage = take("requests.storage");
  if (storage !== undefined) parts.push(`storage=${storage}`);
  const others = Object.keys(hard).filter((key) => !used.has(key)).length;
  if (others > 0) parts.push(`(+${others} more)`);
  return parts.join(" ");
}

/**
 * The {@linkcode quotaSummary} of the quota the operator gives a tenant on `plan` (`undefined`: an
 * unknown plan, locked down), or `undefined` when the plan sets no quota.
 */
export function planQuotaSummary(plan: Plan | undefined): string | undefined {
  if (plan === undefined) return quotaSummary(LOCKDOWN_QUOTA);
  return plan.resourceQuota && quotaSummary(plan.resourceQuota);
}

/** Options of {@linkcode desiredLimitRange}. */
export interface LimitRangeOptions {
  /** The plan's limits. */
  limitRange: LimitRangePlan;
}

/**
 * The LimitRange in the tenant's `namespace`. Container items carry the defaults the API server
 * would fill in (default from max, defaultRequest from default or min), so that what is stored
 * equals what is wanted and a no-op reconcile writes nothing.
 */
export function desiredLimitRange(
  tenant: TenantView,
  namespace: string,
  options: LimitRangeOptions,
): DesiredObject {
  const plan = options.limitRange;
  const limits: Record<string, unknown>[] = [];
  const item = (type: string, bounds: LimitBounds) => {
    const entry: Record<string, unknown> = { type };
    for (const field of ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"]) {
      const value = bounds[field as keyof LimitBounds];
      if (value !== undefined && Object.keys(value).length > 0) entry[field] = { ...value };
    }
    limits.push(entry);
  };
  if (plan.container) item("Container", defaultedBounds(plan.container));
  if (plan.pod) item("Pod", plan.pod);
  if (plan.persistentVolumeClaim) item("PersistentVolumeClaim", plan.persistentVolumeClaim);
  return {
    resource: limitRanges,
    object: {
      apiVersion: "v1",
      kind: "LimitRange",
      metadata: ownedMetadata(tenant, LIMITS_NAME, { namespace }),
      spec: { limits },
    },
    specFields: LIMITS_SPEC_FIELDS,
    normalize: normalizeLimitRangeSpec,
  };
}

/** The LimitRange `spec` fields the operator owns. */
const LIMITS_SPEC_FIELDS: readonly string[] = ["limits"];

/** A LimitRange spec in comparable form: its quantities normalised, empty bounds left out. */
function normalizeLimitRangeSpec(spec: Record<string, unknown>): Record<string, unknown> {
  return {
    limits: Array.isArray(spec.limits)
      ? spec.limits.map((entry) =>
        isRecord(entry)
          ? Object.fromEntries(
            Object.entries(entry).flatMap(([key, value]) => {
              if (!isRecord(value)) return [[key, value]];
              const map = quantities(value);
              return Object.keys(map).length === 0 ? [] : [[key, map]];
            }),
          )
          : entry
      )
      : spec.limits,
  };
}

/** A resource list with every quantity in comparable form. */
function quantities(raw: unknown): Record<string, string> {
  if (!isRecord(raw)) return {};
  return Object.fromEntries(
    Object.entries(raw).map((
      [key, value],
    ) => [key, typeof value === "string" ? quantityKey(value) : String(value)]),
  );
}

/** Options of {@linkcode resourcesStep}. */
export interface ResourcesStepOptions {
  /** The tenant's plan; `undefined` when the plan is not in the catalogue. */
  plan: Plan | undefined;
  /** The per-tenant objects as observed. */
  observed: readonly ObservedKind[];
  /** The tenant's plan name (`spec.plan`). */
  planName: string;
  /** The catalogue, to name the known plans when `plan` is unknown. */
  catalogue: PlanCatalogue;
}

/**
 * Decides the quota and limits of a tenant whose `namespace` is ready. `options.plan` undefined =
 * unknown plan, failed closed: the quota is set to {@linkcode LOCKDOWN_QUOTA} and the LimitRange
 * is left as it is (removing a guard rail would not fail closed); ResourcesReady=False UnknownPlan
 * until the plan exists.
 */
export function resourcesStep(
  tenant: TenantView,
  namespace: string,
  options: ResourcesStepOptions,
): PlanStep {
  const { plan, observed } = options;
  const desired: DesiredObject[] = [];
  if (plan === undefined) desired.push(desiredQuota(tenant, namespace, { hard: LOCKDOWN_QUOTA }));
  else {
    if (plan.resourceQuota) {
      desired.push(desiredQuota(tenant, namespace, { hard: plan.resourceQuota }));
    }
    if (plan.limitRange) {
      desired.push(desiredLimitRange(tenant, namespace, { limitRange: plan.limitRange }));
    }
  }
  const sync = syncObjects(tenant, desired, {
    observed,
    prune: plan === undefined ? [] : [resourceQuotas, limitRanges],
  });
  return syncedStep(sync, {
    condition: resourcesCondition(sync, options),
    reason: EventReason.ResourcesSynced,
    where: `in namespace ${namespace}`,
  });
}

function resourcesCondition(sync: SyncResult, options: ResourcesStepOptions): ConditionInput {
  const { plan } = options;
  const type = ConditionType.ResourcesReady;
  if (plan === undefined) {
    const known = [...options.catalogue.plans.keys()].join(", ");
    return {
      type,
      status: "False",
      reason: Reason.UnknownPlan,
      message: `plan "${options.planName}" is not in the plan catalogue (known: ${known}): ` +
        `failed closed: ${
          describeObject(resourceQuotas, QUOTA_NAME)
        } admits no pods, no CPU or memory, no LoadBalancer or NodePort Services, no ` +
        `PersistentVolumeClaims and no storage; Pod Security restricted; every other guard ` +
        `rail is kept as it was; lifted as soon as the plan exists`,
    };
  }
  const blocked = blockedCondition(type, sync);
  if (blocked !== undefined) return blocked;
  const parts = [
    plan.resourceQuota ? describeObject(resourceQuotas, QUOTA_NAME) : "no quota",
    plan.limitRange ? describeObject(limitRanges, LIMITS_NAME) : "no LimitRange",
  ];
  return {
    type,
    status: "True",
    reason: Reason.PlanApplied,
    message: `${parts.join(" and ")} match plan ${plan.name} (Pod Security ${plan.podSecurity})`,
  };
}
