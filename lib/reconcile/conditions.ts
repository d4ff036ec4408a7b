// Builds status conditions the Kubernetes way (lastTransitionTime moves only when status does) and
// the TenantReady summary; every condition producer feeds its ConditionInput through here.
import type { Condition } from "kubernetes-types/meta/v1.d.ts";
import { ConditionType, formatTime, Reason } from "../api/mod.ts";
import { isRecord } from "./spec.ts";

/** A condition as a producer computes it, before timestamps and generations are attached. */
export interface ConditionInput {
  /** Condition type, e.g. `NamespaceReady`. */
  type: string;
  /** `True`, `False` or `Unknown`. */
  status: "True" | "False" | "Unknown";
  /** CamelCase reason, e.g. `NamespaceConflict`. */
  reason: string;
  /** Human-readable detail (trimmed to {@linkcode MAX_MESSAGE_LENGTH}). */
  message: string;
}

/** Options for {@linkcode buildConditions}. */
export interface BuildConditionsOptions {
  /** The Tenant's `metadata.generation`, stamped on every condition when known. */
  generation?: number;
  /** The current time, used as `lastTransitionTime` of conditions whose status changes. */
  now: Date;
}

/** Longest condition or event message written; longer ones are cut with an ellipsis. */
export const MAX_MESSAGE_LENGTH = 1024;

/** Cuts a message to {@linkcode MAX_MESSAGE_LENGTH} characters. */
export function trimMessage(message: string): string {
  return message.length > MAX_MESSAGE_LENGTH
    ? `${message.slice(0, MAX_MESSAGE_LENGTH - 3)}...`
    : message;
}

/**
 * Turns condition inputs into full conditions, in the inputs' order. A condition keeps its previous
 * `lastTransitionTime` when its status is unchanged (reason or message changes do not move it).
 */
export function buildConditions(
  previous: readonly Condition[],
  inputs: readonly ConditionInput[],
  options: BuildConditionsOptions,
): Condition[] {
  return inputs.map((input) => {
    const before = previous.find((condition) => condition.type === input.type);
    const condition: Condition = {
      type: input.type,
      status: input.status,
      reason: input.reason,
      message: trimMessage(input.message),
      lastTransitionTime: before !== undefined && before.status === input.status
        ? before.lastTransitionTime
        : formatTime(options.now),
    };
    if (options.generation !== undefined) condition.observedGeneration = options.generation;
    return condition;
  });
}

/**
 * The `TenantReady` summary of the other conditions: True when all are True, else False with the
 * first failing condition's reason and message.
 */
export function summarize(inputs: readonly ConditionInput[]): ConditionInput {
  const failing = inputs.find((input) => input.status !== "True");
  if (failing !== undefined) {
    return {
      type: ConditionType.TenantReady,
      status: "False",
      reason: failing.reason,
      message: `${failing.type}: ${failing.message}`,
    };
  }
  return {
    type: ConditionType.TenantReady,
    status: "True",
    reason: Reason.Ready,
    message: `all conditions are True (${inputs.map((input) => input.type).join(", ")})`,
  };
}

/** Finds a condition by type. */
export function findCondition(
  conditions: readonly Condition[],
  type: string,
): Condition | undefined {
  return conditions.find((condition) => condition.type === type);
}

/**
 * Whether two statuses (or any JSON values) are deeply equal, as the API server would store them:
 * object key order is irrelevant, array order matters, and a property set to `undefined` counts as
 * absent (JSON has no `undefined`). The executor skips the status write when this is true.
 */
export function statusEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length &&
      a.every((item, index) => statusEqual(item, b[index]));
  }
  if (!isRecord(a) || !isRecord(b)) return false;
  const keysOf = (record: Record<string, unknown>) =>
    Object.keys(record).filter((key) => record[key] !== undefined).sort();
  const keysA = keysOf(a);
  const keysB = keysOf(b);
  return keysA.length === keysB.length &&
    keysA.every((key, index) => key === keysB[index] && statusEqual(a[key], b[key]));
}
