// Timestamps as Kubernetes writes them (conditions' lastTransitionTime, Events' timestamps).

/** Formats a time as Kubernetes does (RFC 3339, whole seconds, UTC). */
export function formatTime(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Reads a timestamp as Kubernetes writes it (`metadata.creationTimestamp`): ms since the epoch,
 * `undefined` when `value` is not a string holding a valid time.
 */
export function parseTime(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
