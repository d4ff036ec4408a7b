// Small value checks shared by the kubeconfig, in-cluster and credential readers, which must
// describe bad input without echoing secrets.
import { KubeconfigError } from "./errors.ts";

/** True for a plain mapping (an object that is neither null nor an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The class name of an error (`NotFound`, `PermissionDenied`, ...): safe in messages, unlike its text. */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "error";
}

/** Throws a {@linkcode KubeconfigError} (naming `where`) unless `path` can be opened for reading. */
export async function checkReadable(
  path: string,
  where: { file?: string; context?: string; field?: string },
): Promise<void> {
  try {
    using _file = await Deno.open(path, { read: true });
  } catch (error) {
    throw new KubeconfigError(`cannot read ${path} (${errorName(error)})`, where);
  }
}
