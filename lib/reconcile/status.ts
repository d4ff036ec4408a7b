// Assembles the Tenant status a decision writes, and the decision for a status left as it is.
import type { Condition } from "kubernetes-types/meta/v1.d.ts";
import type { TenantStatus } from "../api/mod.ts";
import type { Decision, Requeue } from "./actions.ts";
import { statusEqual } from "./conditions.ts";
import type { TenantView } from "./spec.ts";

/** What {@linkcode tenantStatus} puts in a status besides the generation. */
export interface TenantStatusOptions {
  /** `status.namespace`; left out when `undefined`. */
  namespace: string | undefined;
  /** `status.namespaceUID`; left out when `undefined`. */
  namespaceUID: string | undefined;
  /** `status.conditions`. */
  conditions: Condition[];
  /** `status.quota` (see `quotaSummary`); left out when `undefined`. */
  quota?: string;
}

/**
 * The status of `tenant` with `options.namespace`, `options.conditions` and `options.quota`, stamped
 * with its generation.
 */
export function tenantStatus(tenant: TenantView, options: TenantStatusOptions): TenantStatus {
  const { namespace, namespaceUID, conditions, quota } = options;
  const status: TenantStatus = {};
  if (tenant.generation !== undefined) status.observedGeneration = tenant.generation;
  if (namespace !== undefined) status.namespace = namespace;
  if (namespaceUID !== undefined) status.namespaceUID = namespaceUID;
  if (quota !== undefined) status.quota = quota;
  status.conditions = conditions;
  return status;
}

/**
 * The status `tenant` carries, stamped with its generation, with `conditions` (default: the ones
 * it has): its recorded namespace, namespace uid and quota summary kept as they are.
 */
export function keptStatus(
  tenant: TenantView,
  conditions: Condition[] = tenant.conditions,
): TenantStatus {
  return tenantStatus(tenant, {
    namespace: tenant.recordedNamespace,
    namespaceUID: tenant.statusNamespaceUID,
    conditions,
    quota: tenant.statusQuota,
  });
}

/** Fills in `decision.writeStatus` by comparing `decision.status` with what the Tenant carries now. */
export function withStatus(tenant: TenantView, decision: Omit<Decision, "writeStatus">): Decision {
  return { ...decision, writeStatus: !statusEqual(tenant.status, decision.status) };
}

/** A decision that writes nothing and leaves the status as it is. */
export function unchanged(tenant: TenantView, requeue: Requeue): Decision {
  return {
    actions: [],
    status: keptStatus(tenant),
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
