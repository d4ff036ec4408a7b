// What the operator owns of a per-tenant object, in a canonical form: the one comparison of
// "does this object need restoring" that reconciles (`syncObjects`) and audits make, so that the
// two can never disagree and an audit can keep a digest of it instead of the object.
import { isRecord } from "./spec.ts";

/**
 * What the operator owns of an object, whichever object it is compared on: the label and
 * annotation keys it sets, and the owned `spec` fields in normalised form. Two objects agree on
 * it exactly when {@linkcode ownedContentOf} gives both the same string.
 */
export interface OwnedShape {
  /** The label keys the operator sets. */
  labels: readonly string[];
  /** The annotation keys the operator sets. */
  annotations: readonly string[];
  /** The owned `spec` fields (see `DesiredObject.specFields`). */
  specFields: readonly string[];
  /** Brings a spec to a comparable form (see `DesiredObject.normalize`). */
  normalize?: (spec: Record<string, unknown>) => Record<string, unknown>;
}

/** What of a desired object {@linkcode ownedShape} reads. */
export interface ShapedObject {
  /** The desired body (its labels and annotations are the operator's). */
  object: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } };
  /** The owned `spec` fields. */
  specFields: readonly string[];
  /** Brings a spec to a comparable form. */
  normalize?: (spec: Record<string, unknown>) => Record<string, unknown>;
}

/** The {@linkcode OwnedShape} of a desired object: what of it the operator compares and owns. */
export function ownedShape(item: ShapedObject): OwnedShape {
  const metadata = item.object.metadata ?? {};
  return {
    labels: Object.keys(metadata.labels ?? {}),
    annotations: Object.keys(metadata.annotations ?? {}),
    specFields: item.specFields,
    ...(item.normalize ? { normalize: item.normalize } : {}),
  };
}

/**
 * What `object` (labels and annotations with string values, `spec` `{}` when missing) holds of
 * `shape`, in canonical form: equal strings for two objects exactly when restoring one into the
 * other needs no patch (object key order does not count, array order does).
 */
export function ownedContentOf(
  shape: OwnedShape,
  object: {
    labels: Record<string, string>;
    annotations: Record<string, string>;
    spec: Record<string, unknown>;
  },
): string {
  const spec = (shape.normalize ?? ((value: Record<string, unknown>) => value))(object.spec);
  return canonical({
    labels: Object.fromEntries(shape.labels.map((key) => [key, object.labels[key]])),
    annotations: Object.fromEntries(shape.annotations.map((key) => [key, object.annotations[key]])),
    spec: Object.fromEntries(shape.specFields.map((field) => [field, spec[field]])),
  });
}

/**
 * JSON with object keys sorted and `undefined` properties left out (as `statusEqual` compares),
 * `undefined` elsewhere written `~` so that it never equals `null`.
 */
function canonical(value: unknown): string {
  if (value === undefined) return "~";
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (isRecord(value)) {
    return `{${
      Object.keys(value).filter((key) => value[key] !== undefined).sort()
        .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(",")
    }}`;
  }
  return JSON.stringify(value) ?? "~";
}
