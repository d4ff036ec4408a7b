// Events derived from condition transitions, so a reconcile that changes nothing records nothing
// (ARCHITECTURE.md §3); actions add their own events (created, restored, deleted, released).
import type { Condition } from "kubernetes-types/meta/v1.d.ts";
import { ConditionType } from "../api/mod.ts";
import type { TenantEvent } from "./actions.ts";
import { findCondition } from "./conditions.ts";

/**
 * The events of the transitions from `previous` to `next` conditions. A transition is a change of
 * status or reason (message-only changes are not). Each condition other than `TenantReady` that
 * becomes False gives a `Warning` with its reason and message (Unknown, e.g. waiting for the
 * namespace, is not a failure of its own); `TenantReady` becoming True gives a `Normal` event. Recoveries are therefore announced once, by the summary.
 */
export function transitionEvents(
  previous: readonly Condition[],
  next: readonly Condition[],
): TenantEvent[] {
  const events: TenantEvent[] = [];
  for (const condition of next) {
    const before = findCondition(previous, condition.type);
    const changed = before === undefined || before.status !== condition.status ||
      before.reason !== condition.reason;
    if (!changed) continue;
    if (condition.type === ConditionType.TenantReady) {
      if (condition.status === "True") {
        events.push({ type: "Normal", reason: condition.reason, message: condition.message });
      }
    } else if (condition.status === "False") {
      events.push({ type: "Warning", reason: condition.reason, message: condition.message });
    }
  }
  return events;
}
