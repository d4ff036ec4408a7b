// Lists a collection across all pages (limit/continue), restarting without paging when a continue
// token expires, and cutting off a list that does not end (a repeated token, too many pages, items
// or bytes) with a clear error instead of growing without bound.
import { formatBytes } from "./body.ts";
import { GoneError, ResponseLimitError } from "./errors.ts";
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
  /** Bounds of the whole list (default {@linkcode DEFAULT_LIST_LIMITS}). */
  limits?: ListLimits;
}

/** Bounds of one list across its pages. */
export interface ListLimits {
  /** Most pages (requests). */
  maxPages: number;
  /** Most objects. */
  maxItems: number;
  /** Most bytes of JSON over all pages. */
  maxBytes: number;
}

/**
 * 1,000 pages, 100,000 objects, 64 MiB: ten times the operator's largest measured scale (10,000
 * tenants) and memory for the parsed objects well inside the Deployment's 256 MiB.
 */
export const DEFAULT_LIST_LIMITS: Readonly<ListLimits> = {
  maxPages: 1_000,
  maxItems: 100_000,
  maxBytes: 64 * 1024 * 1024,
};

/** The `Accept` header of metadata-only lists and watches (whole objects as fallback). */
const METADATA_ONLY_ACCEPT =
  "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

/** The `Accept` header of a metadata-only watch. */
export const METADATA_ONLY_WATCH_ACCEPT =
  "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";

/** One page of a list, with the list's resourceVersion as of that page. */
export interface ListPage<T> {
  /** The page's objects. */
  items: T[];
  /** The list's resourceVersion. */
  resourceVersion: string;
  /**
   * Whether this page starts the list: the first page, or the first of a list started over
   * after its continue token expired (whose objects then come again).
   */
  first: boolean;
}

/**
 * Lists every object (a consistent read: `resourceVersion` unset) page by page, yielding each
 * page as it arrives so that a caller that looks at objects one at a time never holds more than a
 * page. A list past its {@linkcode ListLimits}, or whose server hands back a continue token it gave
 * before (no progress), throws a {@linkcode ResponseLimitError}. When a continue token expires,
 * the list starts over in one piece (as client-go does): objects of pages already yielded are
 * yielded again.
 */
export async function* listPages<T extends KubeObjectBase>(
  requester: Requester,
  query: ListQuery,
): AsyncGenerator<ListPage<T>> {
  const limits = query.limits ?? DEFAULT_LIST_LIMITS;
  let limit: number | undefined = query.limit ?? 500;
  for (;;) {
    let next: string | undefined;
    const tokens = new Set<string>();
    let pages = 0;
    let items = 0;
    let bytes = 0;
    const cutOff = (problem: string) =>
      new ResponseLimitError(`listing ${query.path}: ${problem}; list cut off`);
    try {
      for (;;) {
        if (++pages > limits.maxPages) {
          throw cutOff(`more than ${limits.maxPages} pages (the server keeps sending continue)`);
        }
        const answer = await requester.requestMeasured<
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
        const page = answer.value;
        bytes += answer.bytes;
        next = page?.metadata?.continue || undefined;
        const pageItems = Array.isArray(page?.items) ? page.items : [];
        if (bytes > limits.maxBytes) {
          throw cutOff(`more than ${formatBytes(limits.maxBytes)} over ${pages} pages`);
        }
        items += pageItems.length;
        if (items > limits.maxItems) throw cutOff(`more than ${limits.maxItems} objects`);
        if (next !== undefined) {
          if (tokens.has(next)) {
            throw cutOff(`page ${pages} repeats a continue token (no progress)`);
          }
          tokens.add(next);
        }
        yield {
          items: pageItems,
          resourceVersion: page?.metadata?.resourceVersion ?? "",
          first: pages === 1,
        };
        if (!next) return;
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

/**
 * Lists every object (a consistent read: `resourceVersion` unset) across its pages (see
 * {@linkcode listPages}) and returns them with the list's resourceVersion.
 */
export async function listAll<T extends KubeObjectBase>(
  requester: Requester,
  query: ListQuery,
): Promise<ObjectList<T>> {
  let items: T[] = [];
  let resourceVersion = "";
  for await (const page of listPages<T>(requester, query)) {
    resourceVersion = page.resourceVersion;
    // A page starting the list (again) replaces what was gathered; later pages are appended one
    // item at a time, since spreading a large page into push() exceeds the engine's argument limit.
    if (page.first) items = page.items;
    else for (const item of page.items) items.push(item);
  }
  return { items, resourceVersion };
}
