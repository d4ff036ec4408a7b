// The reconcile decision of one Tenant: finalizer, namespace, status, events, requeue, from the
// Tenant and the observed namespace alone (no I/O, no clock but `options.now`).
import { addFinalizer, type Decision } from "./actions.ts";
import { buildConditions, summarize } from "./conditions.ts";
import { transitionEvents } from "./events.ts";
import { namespaceStep, readNamespace } from "./namespace.ts";
import { hasFinalizer, readTenant } from "./spec.ts";
import { ignored, tenantStatus, unchanged, withStatus } from "./status.ts";
import { teardownStep } from "./teardown.ts";

/** Seconds until a namespace being deleted is looked at again (watch events usually come first). */
export const DEFAULT_TERMINATING_REQUEUE_SECONDS = 10;
/** Seconds until a conflicting namespace, which no watch covers, is looked at again. */
export const DEFAULT_CONFLICT_REQUEUE_SECONDS = 60;

/** What the executor observed, read from the API server just before deciding. */
export interface Observed {
  /**
   * The Namespace named {@linkcode tenantNamespaceName} (as returned by a GET), or `undefined` when
   * the GET answered 404 or no name applies.
   */
  namespace?: unknown;
}

/** Options of {@linkcode decide}. */
export interface DecideOptions {
  /** The current time (condition `lastTransitionTime`). */
  now: Date;
  /** Seconds until a terminating namespace is looked at again; default 10. */
  terminatingRequeueSeconds?: number;
  /** Seconds until a conflicting namespace is looked at again; default 60. */
  conflictRequeueSeconds?: number;
}

/**
 * The namespace the executor must GET before calling {@linkcode decide}: `status.namespace` once
 * set (it pins the name even if `spec.userId` is changed), else a valid `spec.userId`, else
 * `undefined` (observe nothing).
 */
export function tenantNamespaceName(tenant: unknown): string | undefined {
  const reading = readTenant(tenant);
  return reading.ok ? reading.tenant.statusNamespace ?? reading.tenant.userId : undefined;
}

/**
 * Decides what to do for a Tenant (untyped JSON, as the API server sent it). Never throws.
 *
 * A Tenant without the finalizer gets the finalizer patch and, in the same decision, the namespace
 * create: 3 writes (finalizer, namespace, status) in one reconcile. This is safe because the
 * finalizer patch is locked to the Tenant's resourceVersion and the executor stops at the first
 * failed action: the namespace is only created once the finalizer is stored, so a Tenant deleted
 * in between stays (with `deletionTimestamp`) until teardown has removed the namespace, which
 * carries its uid annotation. A Tenant deleted before the patch makes the patch fail (409 or 404)
 * and nothing is created.
 *
 * A Tenant already correct gets zero actions, zero events and an identical status.
 */
export function decide(tenant: unknown, observed: Observed, options: DecideOptions): Decision {
  const reading = readTenant(tenant);
  if (!reading.ok) return ignored(reading.problem);
  const view = reading.tenant;
  const namespace = readNamespace(observed.namespace);
  const terminatingRequeueSeconds = options.terminatingRequeueSeconds ??
    DEFAULT_TERMINATING_REQUEUE_SECONDS;
  const build = { generation: view.generation, now: options.now };
  if (view.deleting) {
    if (!hasFinalizer(view)) return unchanged(view, { kind: "none" });
    const step = teardownStep(view, namespace, { terminatingRequeueSeconds });
    if (step.conditions === undefined) {
      return { ...unchanged(view, step.requeue), actions: step.actions, events: step.events };
    }
    const conditions = buildConditions(view.conditions, step.conditions, build);
    const status = tenantStatus(view, view.statusNamespace, conditions);
    return withStatus(view, status, step);
  }
  const step = namespaceStep(view, namespace, {
    terminatingRequeueSeconds,
    conflictRequeueSeconds: options.conflictRequeueSeconds ?? DEFAULT_CONFLICT_REQUEUE_SECONDS,
  });
  const inputs = [step.condition];
  const conditions = buildConditions(view.conditions, [...inputs, summarize(inputs)], build);
  return withStatus(view, tenantStatus(view, step.namespace, conditions), {
    actions: hasFinalizer(view) ? step.actions : [addFinalizer(view), ...step.actions],
    events: [...step.events, ...transitionEvents(view.conditions, conditions)],
    requeue: step.requeue,
  });
}
