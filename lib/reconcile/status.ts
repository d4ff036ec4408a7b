// Assembles the Tenant status a decision writes, and the decision for a status left as it is.
import type { Condition } from "kubernetes-types/meta/v1.d.ts";
import type { TenantStatus } from "../api/mod.ts";
import type { Decision, Requeue } from "./actions.ts";
import { statusEqual } from "./conditions.ts";
import type { TenantView } from "./spec.ts";

/** The status of `tenant` with `namespace` and `conditions`, stamped with its generation. */
export function tenantStatus(
  tenant: TenantView,
  namespace: string | undefined,
  conditions: Condition[],
): TenantStatus {
  const status: TenantStatus = {};
  if (tenant.generation !== undefined) status.observedGeneration = tenant.generation;
  if (namespace !== undefined) status.namespace = namespace;
  status.conditions = conditions;
  return status;
}

/** Fills in `writeStatus` by comparing `status` with what the Tenant carries now. */
export function withStatus(
  tenant: TenantView,
  status: TenantStatus,
  rest: Omit<Decision, "status" | "writeStatus">,
): Decision {
  return { ...rest, status, writeStatus: !statusEqual(tenant.status, status) };
}

/** A decision that writes nothing and leaves the status as it is. */
export function unchanged(tenant: TenantView, requeue: Requeue): Decision {
  return {
    actions: [],
    status: tenantStatus(tenant, tenant.statusNamespace, tenant.conditions),
    writeStatus: false,
    events: [],
    requeue,
  };
}

/** The decision for an object that is not a usable Tenant: nothing to do, `problem` logged. */
export function ignored(problem: string): Decision {
  return {
    actions: [],
    status: {},
    writeStatus: false,
    events: [],
    requeue: { kind: "none" },
    ignored: problem,
  };
}
