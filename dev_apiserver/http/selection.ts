// The label and field selectors of a list, watch or deletecollection request, as one test.
import type { ResourceInfo } from "../storage/resources.ts";
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
} from "../storage/selectors.ts";
import type { KubeObject } from "../types.ts";
import { badRequest } from "./status.ts";

/** A test for the request's label and field selectors; undefined when there are none. */
export function selectorTest(
  info: ResourceInfo,
  params: URLSearchParams,
): ((o: KubeObject) => boolean) | undefined {
  const labelText = params.get("labelSelector") ?? "";
  const fieldText = params.get("fieldSelector") ?? "";
  if (!labelText && !fieldText) return undefined;
  try {
    const labels = parseLabelSelector(labelText);
    const fields = parseFieldSelector(fieldText);
    const known = new Set(["metadata.name", "metadata.namespace"]);
    if (info.fields) { for (const k of Object.keys(info.fields({}))) known.add(k); }
    for (const r of fields.requirements) {
      if (known.has(r.field)) continue;
      // kube's wording differs between kinds with their own field labels and the others.
      throw badRequest(
        info.fields
          ? `field label not supported: ${r.field}`
          : `"${r.field}" is not a known field selector: only "metadata.name", "metadata.namespace"`,
      );
    }
    const needFields = fields.requirements.length > 0;
    return (o) => {
      if (!matchesLabels(labels, o.metadata?.labels)) return false;
      if (!needFields) return true;
      const values: Record<string, string> = {
        "metadata.name": o.metadata?.name ?? "",
        "metadata.namespace": o.metadata?.namespace ?? "",
        ...info.fields?.(o as Record<string, unknown>),
      };
      return matchesFields(fields, values);
    };
  } catch (error) {
    if (error instanceof SelectorError) throw badRequest(error.message);
    throw error;
  }
}
