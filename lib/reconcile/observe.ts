// What the executor must read, besides the Tenant and its namespace, before deciding: the kinds
// of per-tenant objects in the tenant namespace and the tenant's cluster-scoped constraints.
import { limitRanges, networkPolicies, resourceQuotas } from "../api/mod.ts";
import type { ResourceDescriptor } from "../api/mod.ts";
import { reservedBy, TENANT_LABEL } from "../api/mod.ts";
import { type PlanContext, servedKinds } from "./context.ts";
import { namespaceOwnership, readNamespace } from "./namespace.ts";
import { constraintName } from "./policies.ts";
import { hasFinalizer, isRecord, readTenant } from "./spec.ts";

/**
 * Whether `tenant` is new to the operator: not being deleted, with a valid spec, no status at all
 * (nothing recorded, no condition: the operator never wrote it) and no claim (after a claim, a
 * create may have happened whose answer was lost). Its namespace is then created
 * without being read first, and nothing is listed in it (it is created in the same reconcile): the
 * executor decides as if a GET of the namespace had answered 404 and every LIST had been empty. A
 * create answered 409 AlreadyExists means someone else has that object: the executor then reads
 * everything before deciding again (ARCHITECTURE.md §4: a namespace that exists is never adopted).
 */
export function isNewTenant(tenant: unknown): boolean {
  const reading = readTenant(tenant);
  if (!reading.ok) return false;
  const view = reading.tenant;
  const status = view.status;
  const empty = status === undefined || status === null ||
    (isRecord(status) && Object.keys(status).length === 0);
  return !view.deleting && view.spec !== undefined && empty && view.claim === undefined;
}

/**
 * One LIST to run: every object of `resource` in `namespace` (namespaced kinds: all of them, so an
 * object with one of our names but not ours is seen), or those matching `labelSelector` and
 * `fieldSelector`.
 */
export interface Observation {
  /** The kind to list. */
  resource: ResourceDescriptor;
  /** The namespace to list in (namespaced kinds). */
  namespace?: string;
  /** Label selector (cluster-scoped constraints: `kleff.io/tenant=<name>`). */
  labelSelector?: string;
  /** Field selector (cluster-scoped constraints: `metadata.name=<its one name>`). */
  fieldSelector?: string;
}

/**
 * The LISTs to run for `tenant` given its observed `namespace` (both untyped, as read). The
 * namespace's objects are listed only when it is this tenant's, Active, not reserved, and either
 * in use or, being torn down with `Retain`, to be disowned. Constraints are listed whenever the tenant may
 * have some: every served constraint kind (a kind dropped from the catalogue included, so its
 * constraints are pruned), each by its one name, made from the namespace name the tenant pins
 * (`status.namespace`, else `spec.userId`). A live tenant whose namespace exists but cannot be
 * used (not ours, or being deleted) reads nothing: the decision then touches no object.
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
  const observedNamespace = readNamespace(namespace);
  const ours = observedNamespace !== undefined && !observedNamespace.terminating &&
    namespaceOwnership(observedNamespace, view).kind === "ours" &&
    reservedBy(observedNamespace.name, context.reservedNamespaces) === undefined;
  if (!view.deleting && observedNamespace !== undefined && !ours) return [];
  const served = servedKinds(context.integrations);
  const pinned = view.recordedNamespace ?? view.userId;
  const result: Observation[] = pinned === undefined ? [] : served
    .filter((resource) => !resource.namespaced)
    .map((resource) => ({
      resource,
      labelSelector: `${TENANT_LABEL}=${view.name}`,
      fieldSelector: `metadata.name=${constraintName(pinned, resource.kind)}`,
    }));
  if (ours && (!view.deleting || view.deletionPolicy !== "Delete")) {
    const namespaced = [
      resourceQuotas,
      limitRanges,
      networkPolicies,
      ...served.filter((resource) => resource.namespaced),
    ];
    for (const resource of namespaced) {
      result.push({ resource, namespace: observedNamespace.name });
    }
  }
  return result;
}
