// Turns a failed write the executor reports into what to record: a stale view is simply looked at
// again (a routine retry, not a failure), any other API error becomes an ApiError condition and a
// Warning Event.
import { limitRanges, namespaces, resourceQuotas } from "../api/mod.ts";
import { ConditionType, Reason, TENANT_KIND } from "../api/mod.ts";
import { type Action, type Decision, describeAction, withdrawClaim } from "./actions.ts";
import { buildConditions, type ConditionInput, summarize, trimMessage } from "./conditions.ts";
import { readTenant } from "./spec.ts";
import { ignored, keptStatus, tenantStatus, unchanged, withStatus } from "./status.ts";

/** An action that the API server refused, as the executor summarises it. */
export interface ActionFailure {
  /** HTTP status code (0 when no answer came, e.g. a connection error). */
  code: number;
  /** `Status.reason`, e.g. `Forbidden` ("" when unknown). */
  reason: string;
  /** `Status.message` or the error's message. */
  message: string;
  /** The action that failed. */
  during: Action;
  /**
   * Set when the executor found that what the write tested no longer holds (a finalizer patch
   * refused after the Tenant changed or went away, see `tenantPatchApplies`): a stale view,
   * retried from fresh state whatever the code.
   */
  stale?: boolean;
}

/** Options of {@linkcode decideFailure}. */
export interface FailureOptions {
  /** The current time (condition `lastTransitionTime`). */
  now: Date;
}

/**
 * The decision after `failure` stopped a decision for `tenant` (the Tenant as it was read):
 * - 404 NotFound, 409 Conflict, or a failure marked `stale`: the view was stale; write and
 *   record nothing, look again from fresh state (`retry`, not a failure);
 * - 409 AlreadyExists on the namespace's create: someone else's namespace appeared under that
 *   name since it was read; the claim on it (the claim annotation: one write, the decision's only
 *   action; `status.namespace`: in the status) is withdrawn, so that a namespace this operator did
 *   not see itself create is never taken as the tenant's, and the tenant is looked at again
 *   (`retry`);
 * - 409 AlreadyExists on the create of an object in the tenant's namespace: one appeared under
 *   that name since the LIST; it is the operator's there (`syncObjects`), so look again (`retry`);
 * - 409 AlreadyExists on the create of a cluster-scoped object (a constraint): an object of that
 *   name exists that the tenant's observation did not show as its own: `ObjectConflict` on the
 *   condition the object serves, a Warning, retry with backoff (a fresh view shows whether it was
 *   a race);
 * - anything else: `ApiError` on the condition the action serves (`NamespaceReady` for namespace
 *   writes, `ResourcesReady` for quota and limits, `PoliciesReady` for the rest, `TenantReady`
 *   directly for finalizer writes), `TenantReady` recomputed (reason `Terminating` kept during
 *   deletion), a `Warning` Event with the error on every failure (the recorder aggregates
 *   repeats), retry with backoff.
 */
export function decideFailure(
  tenant: unknown,
  failure: ActionFailure,
  options: FailureOptions,
): Decision {
  const reading = readTenant(tenant);
  if (!reading.ok) return ignored(reading.problem);
  const view = reading.tenant;
  const served = servedCondition(failure.during);
  const alreadyExists = failure.code === 409 && failure.reason === "AlreadyExists" &&
    failure.during.kind === "create";
  if (alreadyExists && served === ConditionType.NamespaceReady) {
    const name = failure.during.kind === "create"
      ? failure.during.object.metadata?.name
      : undefined;
    return withStatus(view, {
      actions: name !== undefined && view.claim === name ? [withdrawClaim(view, name)] : [],
      events: [],
      requeue: { kind: "retry" },
      status: tenantStatus(view, {
        namespace: undefined,
        namespaceUID: undefined,
        conditions: view.conditions,
        quota: view.statusQuota,
      }),
    });
  }
  const exists = alreadyExists && served !== undefined && !failure.during.resource.namespaced;
  if (failure.stale || ((failure.code === 404 || failure.code === 409) && !exists)) {
    return unchanged(view, { kind: "retry" });
  }
  const message = trimMessage(
    exists
      ? `${
        describeAction(failure.during)
      }: an object of that name exists and is not this tenant's; it is never adopted or deleted`
      : `${describeAction(failure.during)} failed: ${failure.code || "no response"}${
        failure.reason ? ` ${failure.reason}` : ""
      }: ${failure.message}`,
  );
  const reason = exists ? Reason.ObjectConflict : Reason.ApiError;
  const inputs: ConditionInput[] = view.conditions
    .filter((condition) => condition.type !== ConditionType.TenantReady)
    .map((condition) => ({
      type: condition.type,
      status: condition.status === "True" || condition.status === "False"
        ? condition.status
        : "Unknown",
      reason: condition.reason,
      message: condition.message,
    }));
  if (served !== undefined) {
    const failed: ConditionInput = { type: served, status: "False", reason, message };
    const index = inputs.findIndex((input) => input.type === served);
    if (index !== -1) inputs[index] = failed;
    else if (served === ConditionType.NamespaceReady) inputs.unshift(failed);
    else inputs.push(failed);
  }
  const summary: ConditionInput = view.deleting
    ? { type: ConditionType.TenantReady, status: "False", reason: Reason.Terminating, message }
    : served !== undefined
    ? summarize(inputs)
    : { type: ConditionType.TenantReady, status: "False", reason: Reason.ApiError, message };
  const conditions = buildConditions(view.conditions, [...inputs, summary], {
    generation: view.generation,
    now: options.now,
  });
  return withStatus(view, {
    actions: [],
    events: [{ type: "Warning", reason, message }],
    requeue: { kind: "backoff" },
    status: keptStatus(view, conditions),
  });
}

/** The condition a write serves; `undefined` for the finalizer writes to the Tenant itself. */
function servedCondition(action: Action): ConditionType | undefined {
  if (
    action.kind === "recordNamespace" || action.kind === "claimNamespace" ||
    action.kind === "withdrawClaim"
  ) {
    return ConditionType.NamespaceReady;
  }
  const { kind } = action.resource;
  if (kind === TENANT_KIND) return undefined;
  if (kind === namespaces.kind) return ConditionType.NamespaceReady;
  if (kind === resourceQuotas.kind || kind === limitRanges.kind) {
    return ConditionType.ResourcesReady;
  }
  return ConditionType.PoliciesReady;
}
