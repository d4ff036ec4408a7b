// Turns a failed write the executor reports into what to record: a stale view is simply retried,
// any other API error becomes an ApiError condition and a Warning Event.
import { namespaces } from "../client/resources.ts";
import { ConditionType, Reason } from "../api/mod.ts";
import { type Action, type Decision, describeAction } from "./actions.ts";
import { buildConditions, type ConditionInput, summarize, trimMessage } from "./conditions.ts";
import { readTenant } from "./spec.ts";
import { ignored, tenantStatus, unchanged, withStatus } from "./status.ts";

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
}

/** Options of {@linkcode decideFailure}. */
export interface FailureOptions {
  /** The current time (condition `lastTransitionTime`). */
  now: Date;
}

/**
 * The decision after `failure` stopped a decision for `tenant` (the Tenant as it was read):
 * - 404 NotFound or 409 Conflict/AlreadyExists: the view was stale; write and record nothing,
 *   retry with backoff from fresh state;
 * - anything else: `ApiError` on the condition the action serves (`NamespaceReady` for namespace
 *   writes; `TenantReady` directly for finalizer writes), `TenantReady` recomputed (reason
 *   `Terminating` kept during deletion), a `Warning` Event with the error on every failure (the
 *   recorder aggregates repeats), retry with backoff.
 */
export function decideFailure(
  tenant: unknown,
  failure: ActionFailure,
  options: FailureOptions,
): Decision {
  const reading = readTenant(tenant);
  if (!reading.ok) return ignored(reading.problem);
  const view = reading.tenant;
  if (failure.code === 404 || failure.code === 409) return unchanged(view, { kind: "backoff" });
  const message = trimMessage(
    `${describeAction(failure.during)} failed: ${failure.code || "no response"}${
      failure.reason ? ` ${failure.reason}` : ""
    }: ${failure.message}`,
  );
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
  if (failure.during.resource.kind === namespaces.kind) {
    const failed: ConditionInput = {
      type: ConditionType.NamespaceReady,
      status: "False",
      reason: Reason.ApiError,
      message,
    };
    const index = inputs.findIndex((input) => input.type === ConditionType.NamespaceReady);
    if (index === -1) inputs.unshift(failed);
    else inputs[index] = failed;
  }
  const summary: ConditionInput = view.deleting
    ? { type: ConditionType.TenantReady, status: "False", reason: Reason.Terminating, message }
    : failure.during.resource.kind === namespaces.kind
    ? summarize(inputs)
    : { type: ConditionType.TenantReady, status: "False", reason: Reason.ApiError, message };
  const conditions = buildConditions(view.conditions, [...inputs, summary], {
    generation: view.generation,
    now: options.now,
  });
  return withStatus(view, tenantStatus(view, view.statusNamespace, conditions), {
    actions: [],
    events: [{ type: "Warning", reason: Reason.ApiError, message }],
    requeue: { kind: "backoff" },
  });
}
