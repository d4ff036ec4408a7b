// Timestamps as Kubernetes writes them (conditions' lastTransitionTime, Events' timestamps).

/** Formats a time as Kubernetes does (RFC 3339, whole seconds, UTC). */
export function formatTime(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, "Z");
}
