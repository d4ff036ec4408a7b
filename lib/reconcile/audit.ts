// Restarts and resyncs without reconciling every tenant (ARCHITECTURE.md §2): whether a Tenant is
// settled (a reconcile that found its namespace and objects as its plan wants them would write
// nothing), and what each of those must then hold, so that listed objects can be compared one at a
// time, as they stream by, without holding any. Every verdict comes from the same functions a
// reconcile uses (`decide`, `ownedContent`, `isPrunable`), so the two cannot disagree.
import { namespaces, type ResourceDescriptor } from "../api/mod.ts";
import { observationKey } from "./context.ts";
import { decideAndPlan, type DecideOptions } from "./decide.ts";
import { isOwned, isPrunable, type ObservedKind, ownedContent, readObject } from "./managed.ts";
import { type OwnedShape, ownedShape } from "./owned_content.ts";
import { desiredNamespaceAnnotations, desiredNamespaceLabels, readNamespace } from "./namespace.ts";
import { constraintName } from "./policies.ts";
import { hasFinalizer, readTenant } from "./spec.ts";

/** One object a settled tenant must have: the namespace, or a per-tenant object of its plan. */
export interface PlannedObject {
  /** Its kind. */
  resource: ResourceDescriptor;
  /** Its name. */
  name: string;
  /** What the operator owns of it. */
  shape: OwnedShape;
  /** The {@linkcode ownedContent} it must have. */
  content: string;
}

/** A settled Tenant: what its namespace and objects must be for it to stay settled. */
export interface SettledTenant {
  /** `metadata.name`. */
  name: string;
  /** `metadata.uid`. */
  uid: string;
  /** Its namespace (`status.namespace`). */
  namespace: string;
  /** The uid of its namespace (`status.namespaceUID`). */
  namespaceUID: string;
  /** Its namespace first, then every per-tenant object its plan wants. */
  planned: PlannedObject[];
}

/** What {@linkcode auditTenant} found. */
export type TenantAudit =
  | { settled: true; tenant: SettledTenant }
  | { settled: false; reason: string };

/**
 * Whether `tenant` (untyped, as listed or watched) is settled given `options` (the plan context
 * and the host claims before it): it carries the finalizer, is not being deleted, has a recorded
 * namespace and namespace uid, and `decide`, shown that namespace and the objects its plan wants
 * exactly as wanted, asks for no write, no status change and no look again. A settled tenant then
 * needs a reconcile only if one of its planned objects is missing or differs, or an object of
 * ours it no longer wants is there (see {@linkcode observedContent} and {@linkcode wouldPrune}).
 */
export function auditTenant(tenant: unknown, options: DecideOptions): TenantAudit {
  const reading = readTenant(tenant);
  if (!reading.ok) return { settled: false, reason: reading.problem };
  const view = reading.tenant;
  if (view.deleting) return { settled: false, reason: "being deleted" };
  if (!hasFinalizer(view)) return { settled: false, reason: "no finalizer" };
  const { spec, recordedNamespace: namespace, statusNamespaceUID: namespaceUID } = view;
  if (spec === undefined) return { settled: false, reason: "invalid spec" };
  if (namespace === undefined || namespaceUID === undefined) {
    return { settled: false, reason: "no recorded namespace" };
  }
  const plan = options.context.catalogue.plans.get(spec.plan);
  const idealNamespace = {
    metadata: {
      name: namespace,
      uid: namespaceUID,
      resourceVersion: "1",
      labels: desiredNamespaceLabels(view, spec, {
        podSecurity: plan?.podSecurity ?? "restricted",
      }),
      annotations: desiredNamespaceAnnotations(view),
    },
  };
  const { desired } = decideAndPlan(tenant, { namespace: idealNamespace }, options);
  const byKind = new Map<string, ObservedKind>();
  for (const item of desired) {
    const key = observationKey(item.resource);
    let kind = byKind.get(key);
    if (kind === undefined) byKind.set(key, kind = { resource: item.resource, items: [] });
    const metadata = { ...item.object.metadata, uid: `planned-${key}`, resourceVersion: "1" };
    kind.items.push({ ...item.object, metadata });
  }
  const { decision } = decideAndPlan(
    tenant,
    { namespace: idealNamespace, objects: [...byKind.values()] },
    options,
  );
  if (decision.ignored !== undefined) return { settled: false, reason: decision.ignored };
  if (decision.actions.length > 0) return { settled: false, reason: "writes to make" };
  if (decision.writeStatus) return { settled: false, reason: "status to update" };
  if (decision.requeue.kind !== "none") return { settled: false, reason: "waiting on something" };
  const namespaceShape = ownedShape({ object: idealNamespace, specFields: [] });
  return {
    settled: true,
    tenant: {
      name: view.name,
      uid: view.uid,
      namespace,
      namespaceUID,
      planned: [
        {
          resource: namespaces,
          name: namespace,
          shape: namespaceShape,
          content: ownedContent(namespaceShape, idealNamespace),
        },
        ...desired.map((item) => {
          const shape = ownedShape(item);
          return {
            resource: item.resource,
            name: item.object.metadata?.name ?? "",
            shape,
            content: ownedContent(shape, item.object),
          };
        }),
      ],
    },
  };
}

/**
 * The {@linkcode ownedContent} of `raw`, an object listed under `planned`'s kind and name, when a
 * reconcile would take it as that object in place: not being deleted; a namespace with the
 * recorded uid; a cluster-scoped object carrying the tenant's annotation. `undefined` otherwise
 * (the tenant needs a reconcile).
 */
export function observedContent(
  planned: Pick<PlannedObject, "resource" | "shape">,
  raw: unknown,
  tenant: Pick<SettledTenant, "uid" | "namespaceUID">,
): string | undefined {
  if (planned.resource.kind === namespaces.kind && planned.resource.group === namespaces.group) {
    const namespace = readNamespace(raw);
    if (namespace === undefined || namespace.terminating) return undefined;
    return namespace.uid === tenant.namespaceUID ? ownedContent(planned.shape, raw) : undefined;
  }
  const object = readObject(raw);
  if (object === undefined || object.deleting) return undefined;
  if (!planned.resource.namespaced && !isOwned(object, tenant)) return undefined;
  return ownedContent(planned.shape, raw);
}

/**
 * Whether a reconcile of `tenant` may delete `raw`, a listed object of kind `resource` that its
 * plan does not want: one of ours (see `isPrunable`), not already being deleted, that the
 * reconcile observes (in its namespace, or a cluster-scoped constraint under the one name it
 * reads).
 */
export function wouldPrune(
  resource: ResourceDescriptor,
  raw: unknown,
  tenant: Pick<SettledTenant, "name" | "uid" | "namespace">,
): boolean {
  const object = readObject(raw);
  if (object === undefined || object.deleting || !isPrunable(object, tenant)) return false;
  return resource.namespaced
    ? object.namespace === tenant.namespace
    : object.name === constraintName(tenant.namespace, resource.kind);
}
