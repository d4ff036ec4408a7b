// Lists a collection across all pages (limit/continue), restarting without paging when a continue token expires.
import { GoneError } from "./errors.ts";
import type { Requester } from "./request.ts";
import type { KubeObjectBase, ObjectList } from "./types.ts";

/** What to list. */
export interface ListQuery {
  /** Collection path, e.g. `/api/v1/namespaces`. */
  path: string;
  /** Label selector. */
  labelSelector?: string;
  /** Field selector. */
  fieldSelector?: string;
  /** Page size (default 500). */
  limit?: number;
  /** Aborts the list. */
  signal?: AbortSignal;
  /** Ask for `PartialObjectMetadataList` (metadata only) instead of whole objects. */
  metadataOnly?: boolean;
}

/** The `Accept` header of metadata-only lists and watches (whole objects as fallback). */
const METADATA_ONLY_ACCEPT =
  "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

/** The `Accept` header of a metadata-only watch. */
export const METADATA_ONLY_WATCH_ACCEPT =
  "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";

/** Lists every object (a consistent read: `resourceVersion` unset) and returns the list's resourceVersion. */
export async function listAll<T extends KubeObjectBase>(
  requester: Requester,
  query: ListQuery,
): Promise<ObjectList<T>> {
  let limit: number | undefined = query.limit ?? 500;
  for (;;) {
    const items: T[] = [];
    let next: string | undefined;
    try {
      for (;;) {
        const page = await requester.request<
          { items?: T[]; metadata?: { resourceVersion?: string; continue?: string } }
        >({
          path: query.path,
          query: {
            labelSelector: query.labelSelector || undefined,
            fieldSelector: query.fieldSelector || undefined,
            limit,
            continue: next,
          },
          signal: query.signal,
          accept: query.metadataOnly ? METADATA_ONLY_ACCEPT : undefined,
        });
        next = page?.metadata?.continue || undefined;
        const pageItems = page?.items ?? [];
        // The only page is returned as is; otherwise items are appended one at a time, since
        // spreading a large page into push() exceeds the engine's argument limit.
        if (!next && items.length === 0) {
          return { items: pageItems, resourceVersion: page?.metadata?.resourceVersion ?? "" };
        }
        for (const item of pageItems) items.push(item);
        if (!next) return { items, resourceVersion: page?.metadata?.resourceVersion ?? "" };
      }
    } catch (error) {
      // An expired continue token: list again in one piece, as client-go does.
      if (error instanceof GoneError && next && limit !== undefined) {
        limit = undefined;
        continue;
      }
      throw error;
    }
  }
}
