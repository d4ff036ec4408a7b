// A generic typed client for one kind: CRUD, patches, the status subresource, paged lists and resumable watches.
import type { ResourceDescriptor } from "../api/mod.ts";
import type { Requester } from "./request.ts";

export type { ResourceDescriptor };
import { listAll, type ListLimits, type ListPage, listPages } from "./list.ts";
import type { KubeObjectBase, ObjectList, Status } from "./types.ts";
import { ResumableWatch, type WatchHealth, type WatchTimings } from "./watch.ts";

/** Options of a list. */
export interface ListOptions {
  /** Namespace (namespaced kinds; omitted = all namespaces). */
  namespace?: string;
  /** Label selector, e.g. `app.kubernetes.io/managed-by=kleff`. */
  labelSelector?: string;
  /** Field selector, e.g. `metadata.name=x`. */
  fieldSelector?: string;
  /** Page size (default 500); every page is fetched. */
  limit?: number;
  /** Aborts the list. */
  signal?: AbortSignal;
  /** Bounds of the whole list across pages (default `DEFAULT_LIST_LIMITS`). */
  limits?: ListLimits;
}

/** Options of a watch. */
export interface WatchOptions extends ListOptions {
  /** Ends the watch. */
  signal: AbortSignal;
  /** Called when the health changes. */
  onHealth?: (health: WatchHealth) => void;
  /** Try streaming lists first (default true). */
  streamingList?: boolean;
  /** Metadata only (`PartialObjectMetadata`): use with `T` = `KubeObjectBase`. */
  metadataOnly?: boolean;
  /** Timing overrides (tests). */
  timings?: WatchTimings;
  /**
   * Keep no object keys after the initial state: a later relist yields SYNCED alone (see
   * {@linkcode ResumableWatch}'s options).
   */
  forgetAfterSync?: boolean;
}

/** Options of single-object calls. */
export interface ObjectOptions {
  /** Namespace (namespaced kinds; default: the object's own, else required). */
  namespace?: string;
  /** Aborts the call. */
  signal?: AbortSignal;
}

/** Options of a patch. */
export interface PatchOptions extends ObjectOptions {
  /** `merge` (RFC 7386, default), `json` (RFC 6902) or `strategic` (built-in kinds only). */
  type?: "merge" | "json" | "strategic";
}

/** Options of a delete. */
export interface DeleteOptions extends ObjectOptions {
  /** Delete only if the object still has this uid / resourceVersion. */
  preconditions?: { uid?: string; resourceVersion?: string };
  /** What happens to dependents. */
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
}

const PATCH_TYPES = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  strategic: "application/strategic-merge-patch+json",
};

/** Typed calls for one kind. */
export class ResourceClient<T extends KubeObjectBase> {
  /** The kind this client serves. */
  readonly descriptor: ResourceDescriptor;
  #requester: Requester;

  /** Creates the client; use `KubeClient.resource()`. */
  constructor(requester: Requester, descriptor: ResourceDescriptor) {
    this.#requester = requester;
    this.descriptor = descriptor;
  }

  /** Reads one object. */
  async get(name: string, options: ObjectOptions = {}): Promise<T> {
    return await this.#requester.request<T>({
      path: this.#path(options.namespace, name),
      signal: options.signal,
    });
  }

  /** Lists every matching object across all pages, with the list's resourceVersion. */
  list(options: ListOptions = {}): Promise<ObjectList<T>> {
    return listAll<T>(this.#requester, {
      ...options,
      path: this.#collectionPath(options.namespace),
    });
  }

  /**
   * Lists every matching object page by page (`options.limit` per page, default 500), yielding
   * each page as it arrives: a caller looking at one object at a time holds one page at most.
   */
  listPages(options: ListOptions & { metadataOnly?: boolean } = {}): AsyncGenerator<ListPage<T>> {
    return listPages<T>(this.#requester, {
      ...options,
      path: this.#collectionPath(options.namespace),
    });
  }

  /** Creates an object (in `options.namespace`, else its own namespace, for namespaced kinds). */
  async create(object: T, options: ObjectOptions = {}): Promise<T> {
    return await this.#requester.request<T>({
      method: "POST",
      path: this.#path(options.namespace ?? object.metadata?.namespace),
      body: this.#withKind(object),
      signal: options.signal,
    });
  }

  /** Replaces an object (PUT); a stale `metadata.resourceVersion` gives a ConflictError. */
  async replace(object: T, options: ObjectOptions = {}): Promise<T> {
    return await this.#requester.request<T>({
      method: "PUT",
      path: this.#path(options.namespace ?? object.metadata?.namespace, this.#name(object)),
      body: this.#withKind(object),
      signal: options.signal,
    });
  }

  /** Patches an object (merge patch unless `type` says otherwise). */
  async patch(name: string, patch: unknown, options: PatchOptions = {}): Promise<T> {
    return await this.#requester.request<T>({
      method: "PATCH",
      path: this.#path(options.namespace, name),
      body: patch,
      contentType: PATCH_TYPES[options.type ?? "merge"],
      signal: options.signal,
    });
  }

  /** Deletes an object; returns it (still terminating, with finalizers) or a Status. */
  async delete(name: string, options: DeleteOptions = {}): Promise<T | Status> {
    const body = options.preconditions || options.propagationPolicy
      ? {
        apiVersion: "v1",
        kind: "DeleteOptions",
        preconditions: options.preconditions,
        propagationPolicy: options.propagationPolicy,
      }
      : undefined;
    return await this.#requester.request<T | Status>({
      method: "DELETE",
      path: this.#path(options.namespace, name),
      body,
      signal: options.signal,
    });
  }

  /** Reads an object through its status subresource. */
  async getStatus(name: string, options: ObjectOptions = {}): Promise<T> {
    return await this.#requester.request<T>({
      path: this.#path(options.namespace, name) + "/status",
      signal: options.signal,
    });
  }

  /** Replaces an object's status (PUT on the status subresource). */
  async replaceStatus(object: T, options: ObjectOptions = {}): Promise<T> {
    return await this.#requester.request<T>({
      method: "PUT",
      path: this.#path(options.namespace ?? object.metadata?.namespace, this.#name(object)) +
        "/status",
      body: this.#withKind(object),
      signal: options.signal,
    });
  }

  /** Patches an object's status subresource. */
  async patchStatus(name: string, patch: unknown, options: PatchOptions = {}): Promise<T> {
    return await this.#requester.request<T>({
      method: "PATCH",
      path: this.#path(options.namespace, name) + "/status",
      body: patch,
      contentType: PATCH_TYPES[options.type ?? "merge"],
      signal: options.signal,
    });
  }

  /** A resumable watch of the matching objects (see {@linkcode ResumableWatch}). */
  watch(options: WatchOptions): ResumableWatch<T> {
    return new ResumableWatch<T>(this.#requester, {
      ...options,
      path: this.#collectionPath(options.namespace),
    });
  }

  /** The collection path of lists and watches: a namespaced kind without namespace means all namespaces. */
  #collectionPath(namespace?: string): string {
    const { group, version, plural, namespaced } = this.descriptor;
    const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`;
    return namespaced && namespace
      ? `${prefix}/namespaces/${encodeURIComponent(namespace)}/${plural}`
      : `${prefix}/${plural}`;
  }

  /**
   * The path of one object, or without `name` the collection an object is created in: never
   * the all-namespaces collection, so a namespaced kind requires a namespace.
   */
  #path(namespace: string | undefined, name?: string): string {
    const { kind, namespaced } = this.descriptor;
    if (namespaced && !namespace) {
      throw new TypeError(`${kind} is namespaced: a namespace is required`);
    }
    const path = this.#collectionPath(namespace);
    if (name === undefined) return path;
    if (!name) throw new TypeError(`${kind}: an object name is required`);
    return `${path}/${encodeURIComponent(name)}`;
  }

  #name(object: T): string {
    return object.metadata?.name ?? "";
  }

  #withKind(object: T): T {
    const { group, version, kind } = this.descriptor;
    return { apiVersion: group ? `${group}/${version}` : version, kind, ...object };
  }
}
