// kubectl's client-side apply annotation under server-side apply, as kube-apiserver treats it for
// the field manager `kubectl`: fields a client-side apply set are taken over without conflict
// when the annotation still matches them, and the annotation follows each server-side apply.
import type { FieldSet } from "./field_set.ts";
import type { MapType } from "./field_types.ts";
import { isObject } from "./objects.ts";
import { compare, fieldSetOf } from "./typed.ts";
import type { KubeObject } from "../types.ts";

/** The annotation `kubectl apply` (client-side) keeps the applied configuration in. */
export const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";
/** The only field manager whose applies use and update the annotation (kubectl's default). */
export const KUBECTL_MANAGER = "kubectl";
/** kube's limit on the total size of an object's annotations. */
const ANNOTATIONS_LIMIT = 256 * 1024;

function lastApplied(object: KubeObject): KubeObject | undefined {
  const text = object.metadata?.annotations?.[LAST_APPLIED];
  if (!text) return undefined;
  try {
    const parsed = JSON.parse(text);
    return isObject(parsed) ? parsed as KubeObject : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The fields a server-side apply by kubectl may take over from other managers without a
 * conflict: those in the live object's last-applied annotation whose live values still match it.
 * Undefined when the object has no (readable) annotation.
 */
export function upgradableFields(live: KubeObject, type: MapType): FieldSet | undefined {
  const applied = lastApplied(live);
  if (!applied) return undefined;
  const { managedFields: _, ...metadata } = live.metadata ?? {};
  const comparison = compare(applied, { ...live, metadata }, type);
  return fieldSetOf(applied, type).difference(comparison.modified);
}

/**
 * `object` with its last-applied annotation (when it has one) replaced by `config` (without the
 * annotation), encoded as kube encodes it; the annotation goes when it would be too large.
 */
export function syncLastApplied(object: KubeObject, config: KubeObject): KubeObject {
  const annotations = object.metadata?.annotations;
  if (annotations?.[LAST_APPLIED] === undefined) return object;
  const { annotations: configAnnotations, ...configMetadata } = config.metadata ?? {};
  const { [LAST_APPLIED]: _, ...kept } = configAnnotations ?? {};
  const metadata = Object.keys(kept).length > 0
    ? { ...configMetadata, annotations: kept }
    : configMetadata;
  const value = `${goJson({ ...config, metadata })}\n`;
  const { [LAST_APPLIED]: _old, ...others } = annotations;
  const size = Object.entries(others).reduce((total, [k, v]) => total + k.length + v.length, 0);
  const fits = size + LAST_APPLIED.length + value.length <= ANNOTATIONS_LIMIT;
  const next = fits ? { ...others, [LAST_APPLIED]: value } : others;
  return { ...object, metadata: { ...object.metadata, annotations: next } };
}

/** JSON as Go's encoding/json writes a map: sorted keys, `<`, `>` and `&` escaped. */
function goJson(value: unknown): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : isObject(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])]))
      : v;
  return JSON.stringify(sorted(value))
    .replaceAll("<", "\\u003c")
    .replaceAll(">", "\\u003e")
    .replaceAll("&", "\\u0026")
    .replaceAll("\u2028", "\\u2028")
    .replaceAll("\u2029", "\\u2029");
}
