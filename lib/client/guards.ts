// Small value checks shared by the kubeconfig and credential readers, which must describe bad input without echoing secrets.

/** True for a plain mapping (an object that is neither null nor an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The class name of an error (`NotFound`, `PermissionDenied`, ...): safe in messages, unlike its text. */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "error";
}
