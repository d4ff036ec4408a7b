// How stored objects are served: the requested apiVersion, Tables, metadata-only views, list metadata.
import { groupVersion, type ResourceInfo } from "../storage/resources.ts";
import type { StoredEntry } from "../storage/store.ts";
import { renderTable } from "../tables/table.ts";
import type { KubeObject } from "../types.ts";
import type { Representation } from "./negotiation.ts";

/** The content type of every JSON answer. */
export const JSON_HEADERS = { "content-type": "application/json" };

/** The stored JSON of an entry, with the apiVersion of the version `info` serves. */
export function servedJson(entry: StoredEntry, info: ResourceInfo): string {
  const apiVersion = groupVersion(info);
  return entry.object.apiVersion === apiVersion
    ? entry.json
    : JSON.stringify({ ...entry.object, apiVersion });
}

/** List metadata: resourceVersion, continue token, remaining item count. */
export interface ListMeta {
  rv: string;
  continue?: string;
  remaining?: number;
}

/** `metadata` of a list answer. */
export function listMeta(meta: ListMeta): Record<string, unknown> {
  const out: Record<string, unknown> = { resourceVersion: meta.rv };
  if (meta.continue) out.continue = meta.continue;
  if (meta.remaining !== undefined) out.remainingItemCount = meta.remaining;
  return out;
}

/**
 * `objects` as a Table or as metadata only (`PartialObjectMetadata`, or its list unless
 * `meta.single`), for a representation other than the plain object.
 */
export function present(
  objects: KubeObject[],
  info: ResourceInfo,
  as: Exclude<Representation, "object">,
  params: URLSearchParams,
  meta: ListMeta & { single?: boolean },
): unknown {
  const apiVersion = groupVersion(info);
  const served = objects.map((o) => o.apiVersion === apiVersion ? o : { ...o, apiVersion });
  if (as === "table") {
    const includeObject = params.get("includeObject") as "None" | "Metadata" | "Object" | null;
    const table = renderTable(served, {
      kind: info.kind,
      group: info.group,
      printerColumns: info.printerColumns,
      includeObject: includeObject ?? "Metadata",
      resourceVersion: meta.rv,
      continue: meta.continue,
    });
    if (meta.remaining !== undefined) table.metadata.remainingItemCount = meta.remaining;
    return table;
  }
  const partial = (o: KubeObject) => ({
    kind: "PartialObjectMetadata",
    apiVersion: "meta.k8s.io/v1",
    metadata: o.metadata,
  });
  if (meta.single) return partial(served[0]);
  return {
    kind: "PartialObjectMetadataList",
    apiVersion: "meta.k8s.io/v1",
    metadata: listMeta(meta),
    items: served.map(partial),
  };
}
