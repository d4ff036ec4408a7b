// Small object helpers shared by the write paths: copies, equality, timestamps, finalizer state.
import type { ObjectMeta } from "kubernetes-types/meta/v1.d.ts";
import type { KubeObject } from "../types.ts";

/** A deep copy of a JSON value. */
export function clone<T>(value: T): T {
  return value === undefined ? value : JSON.parse(JSON.stringify(value));
}

/** True for a JSON object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Structural equality of JSON values (key order ignored, keys holding `undefined` absent). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length &&
      a.every((item, i) => deepEqual(item, b[i]));
  }
  if (!isObject(a) || !isObject(b)) return false;
  const keys = definedKeys(a);
  return keys.length === definedKeys(b).length &&
    keys.every((key) => Object.hasOwn(b, key) && deepEqual(a[key], b[key]));
}

function definedKeys(object: Record<string, unknown>): string[] {
  return Object.keys(object).filter((key) => object[key] !== undefined);
}

/** Options of {@linkcode contentChanged}. */
export interface ContentChangedOptions {
  /** Whether a difference in `status` alone counts as no change. */
  ignoreStatus: boolean;
}

/** True when the objects differ outside `metadata` (and `status` when `options.ignoreStatus`). */
export function contentChanged(
  a: KubeObject,
  b: KubeObject,
  options: ContentChangedOptions,
): boolean {
  const { ignoreStatus } = options;
  const skip = new Set(["metadata", "apiVersion", "kind"]);
  if (ignoreStatus) skip.add("status");
  const pick = (o: KubeObject) =>
    Object.fromEntries(Object.entries(o).filter(([k]) => !skip.has(k)));
  return !deepEqual(pick(a), pick(b));
}

/** True when two versions of an object are the same apart from their resourceVersion. */
export function sameObject(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => ({
    ...o,
    metadata: { ...o.metadata, resourceVersion: undefined },
  });
  return deepEqual(strip(a), strip(b));
}

/** The current time as kube formats timestamps (RFC 3339, whole seconds). */
export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** True once the object has a deletionTimestamp. */
export function isDeleting(object: KubeObject): boolean {
  return Boolean(object.metadata?.deletionTimestamp);
}

/** Finalizers still holding the object: metadata.finalizers, plus spec.finalizers for namespaces. */
export function pendingFinalizers(object: KubeObject): string[] {
  const own = object.metadata?.finalizers ?? [];
  const spec = object.kind === "Namespace"
    ? ((object.spec as { finalizers?: string[] } | undefined)?.finalizers ?? [])
    : [];
  return [...own, ...spec];
}

/** The type of an object: what {@linkcode ordered} puts first. */
export interface ObjectType {
  /** `apiVersion`. */
  apiVersion: string;
  /** `kind`. */
  kind: string;
}

/** `object` with `type`'s apiVersion and kind, and metadata, first, as kube serializes objects. */
export function ordered(object: KubeObject, type: ObjectType): KubeObject {
  const { apiVersion, kind } = type;
  const { apiVersion: _a, kind: _k, metadata, ...rest } = object;
  return { apiVersion, kind, metadata: metadata ?? {}, ...rest };
}

/** Object metadata with the fields the server owns made writable. */
export type MutableMeta = { -readonly [K in keyof ObjectMeta]: ObjectMeta[K] };

/** The object's metadata (created when missing), writable. */
export function meta(object: KubeObject): MutableMeta {
  object.metadata ??= {};
  return object.metadata as MutableMeta;
}
