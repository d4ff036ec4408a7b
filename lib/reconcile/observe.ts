// What the executor must read, besides the Tenant and its namespace, before deciding: the kinds
// of per-tenant objects in the tenant namespace and the tenant's cluster-scoped constraints.
import { limitRanges, networkPolicies, resourceQuotas } from "../client/resources.ts";
import type { ResourceDescriptor } from "../client/resource.ts";
import { TENANT_LABEL } from "../api/mod.ts";
import { constraintKinds } from "../plans/mod.ts";
import type { PlanContext } from "./context.ts";
import { namespaceOwnership, readNamespace } from "./namespace.ts";
import { hasFinalizer, readTenant } from "./spec.ts";

/**
 * One LIST to run: every object of `resource` in `namespace` (namespaced kinds: all of them, so an
 * object with one of our names but not ours is seen), or those matching `labelSelector`.
 */
export interface Observation {
  /** The kind to list. */
  resource: ResourceDescriptor;
  /** The namespace to list in (namespaced kinds). */
  namespace?: string;
  /** Label selector (cluster-scoped constraints: `kleff.io/tenant=<name>`). */
  labelSelector?: string;
}

/** The namespaced kinds of per-tenant objects the cluster serves. */
export function namespacedKinds(context: PlanContext): ResourceDescriptor[] {
  const { gateway, authorizationPolicy } = context.integrations;
  return [resourceQuotas, limitRanges, networkPolicies, gateway, authorizationPolicy].filter(
    (resource): resource is ResourceDescriptor => resource !== undefined,
  );
}

/** The served constraint kinds the catalogue names. */
export function constraintResources(context: PlanContext): ResourceDescriptor[] {
  return constraintKinds(context.catalogue).flatMap((kind) => {
    const resource = context.integrations.constraints[kind];
    return resource === undefined ? [] : [resource];
  });
}

/**
 * The LISTs to run for `tenant` given its observed `namespace` (both untyped, as read). The
 * namespace's objects are listed only when it is this tenant's, Active, and either in use or,
 * being torn down with `Retain`, to be disowned; constraints whenever the tenant may have some.
 */
export function observations(
  tenant: unknown,
  namespace: unknown,
  context: PlanContext,
): Observation[] {
  const reading = readTenant(tenant);
  if (!reading.ok) return [];
  const view = reading.tenant;
  if (view.deleting ? !hasFinalizer(view) : view.spec === undefined) return [];
  const result: Observation[] = constraintResources(context).map((resource) => ({
    resource,
    labelSelector: `${TENANT_LABEL}=${view.name}`,
  }));
  const observedNamespace = readNamespace(namespace);
  const usable = observedNamespace !== undefined && !observedNamespace.terminating &&
    namespaceOwnership(observedNamespace, view).kind === "ours" &&
    (!view.deleting || view.deletionPolicy !== "Delete");
  if (usable) {
    for (const resource of namespacedKinds(context)) {
      result.push({ resource, namespace: observedNamespace.name });
    }
  }
  return result;
}
