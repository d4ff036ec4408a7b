// Minimal merge patches of object metadata: only the keys the operator manages and that differ,
// locked to the observed resourceVersion, so other writers' labels and annotations are never touched.
import type { MergePatch } from "./actions.ts";
import { isRecord } from "./spec.ts";

/** The metadata of an observed object that patches are computed against. */
export interface MetadataView {
  /** `metadata.labels` (string values only). */
  labels: Record<string, string>;
  /** `metadata.annotations` (string values only). */
  annotations: Record<string, string>;
  /** `metadata.resourceVersion`, the patch's optimistic lock. */
  resourceVersion?: string;
}

/** Wanted metadata values: a string sets the key, `null` removes it; unlisted keys are left alone. */
export interface MetadataChanges {
  /** Wanted labels. */
  labels?: Record<string, string | null>;
  /** Wanted annotations. */
  annotations?: Record<string, string | null>;
}

/** Reads a string map (labels, annotations) from untyped JSON, dropping non-string values. */
export function readStringMap(raw: unknown): Record<string, string> {
  if (!isRecord(raw)) return {};
  return Object.fromEntries(
    Object.entries(raw).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
  );
}

/**
 * The smallest merge patch that makes `current` carry `changes`:
 * `{ metadata: { resourceVersion, labels?, annotations? } }` with only the differing keys, or
 * `undefined` when nothing differs (so a correct object costs no write).
 */
export function metadataPatch(
  current: MetadataView,
  changes: MetadataChanges,
): MergePatch | undefined {
  const labels = diff(current.labels, changes.labels ?? {});
  const annotations = diff(current.annotations, changes.annotations ?? {});
  if (labels === undefined && annotations === undefined) return undefined;
  const metadata: Record<string, unknown> = {};
  if (current.resourceVersion !== undefined) metadata.resourceVersion = current.resourceVersion;
  if (labels !== undefined) metadata.labels = labels;
  if (annotations !== undefined) metadata.annotations = annotations;
  return { metadata };
}

/** The label and annotation keys a metadata patch sets or removes, sorted (for messages). */
export function changedKeys(patch: MergePatch): string[] {
  const metadata = isRecord(patch.metadata) ? patch.metadata : {};
  return [metadata.labels, metadata.annotations].flatMap((map) =>
    isRecord(map) ? Object.keys(map) : []
  ).sort();
}

function diff(
  current: Record<string, string>,
  wanted: Record<string, string | null>,
): Record<string, string | null> | undefined {
  const entries = Object.entries(wanted).filter(([key, value]) =>
    value === null ? Object.hasOwn(current, key) : current[key] !== value
  );
  return entries.length === 0 ? undefined : Object.fromEntries(entries);
}
