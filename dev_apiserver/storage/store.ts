// The in-memory object store: one cluster-wide resourceVersion counter and change events for watches.
import { meta } from "./objects.ts";
import type { KubeObject } from "../types.ts";

/** The kind of change a write made, as watch events name it. */
export type ChangeType = "ADDED" | "MODIFIED" | "DELETED";

/** One stored object and its serialized form (the object is never mutated once stored). */
export interface StoredEntry {
  object: KubeObject;
  json: string;
  rv: number;
}

/** A committed write, delivered synchronously to subscribers in resourceVersion order. */
export interface ChangeEvent {
  type: ChangeType;
  /** Storage key `group/resource`. */
  key: string;
  namespace: string;
  rv: number;
  entry: StoredEntry;
  /** The entry the change replaced or removed (MODIFIED and DELETED): selector transitions, snapshots. */
  before?: StoredEntry;
}

type Bucket = Map<string, StoredEntry>;

/** Objects by storage key, namespace ("" for cluster-scoped) and name. */
export class ObjectStore {
  #rv: number;
  #data = new Map<string, Map<string, Bucket>>();
  #subscribers: ((event: ChangeEvent) => void)[] = [];

  /** Starts empty at the given resourceVersion. */
  constructor(initialRv = 1000) {
    this.#rv = initialRv;
  }

  /** The latest committed resourceVersion. */
  get rv(): number {
    return this.#rv;
  }

  /** Calls `listener` after every committed change. */
  subscribe(listener: (event: ChangeEvent) => void): void {
    this.#subscribers.push(listener);
  }

  /** The stored entry, if any. */
  get(key: string, namespace: string, name: string): StoredEntry | undefined {
    return this.#data.get(key)?.get(namespace)?.get(name);
  }

  /** Entries of one key, in one namespace or all, in etcd's key order ({@linkcode storageOrder}). */
  list(key: string, namespace?: string): StoredEntry[] {
    const byNs = this.#data.get(key);
    if (!byNs) return [];
    const out: StoredEntry[] = [];
    if (namespace !== undefined) {
      const bucket = byNs.get(namespace);
      if (bucket) out.push(...bucket.values());
    } else {
      for (const bucket of byNs.values()) out.push(...bucket.values());
    }
    return out.sort(storageOrder);
  }

  /** Number of objects of one key in one namespace. */
  count(key: string, namespace: string): number {
    return this.#data.get(key)?.get(namespace)?.size ?? 0;
  }

  /** Every storage key that has objects. */
  keys(): string[] {
    return [...this.#data.keys()];
  }

  /** Stores a new object (the caller checked it does not exist); assigns its resourceVersion. */
  create(key: string, object: KubeObject): StoredEntry {
    return this.#write("ADDED", key, object);
  }

  /** Replaces an existing object; assigns a new resourceVersion. */
  update(key: string, object: KubeObject): StoredEntry {
    return this.#write("MODIFIED", key, object);
  }

  /** Removes an object; the DELETED event carries it with a new resourceVersion. */
  remove(key: string, object: KubeObject): StoredEntry {
    return this.#write("DELETED", key, object);
  }

  #write(type: ChangeType, key: string, object: KubeObject): StoredEntry {
    const rv = ++this.#rv;
    const metadata = meta(object);
    metadata.resourceVersion = String(rv);
    const namespace = metadata.namespace ?? "";
    const name = metadata.name ?? "";
    const entry: StoredEntry = { object, json: JSON.stringify(object), rv };
    let byNs = this.#data.get(key);
    if (!byNs) this.#data.set(key, byNs = new Map());
    let bucket = byNs.get(namespace);
    if (!bucket) byNs.set(namespace, bucket = new Map());
    const before = bucket.get(name);
    if (type === "DELETED") {
      bucket.delete(name);
      if (bucket.size === 0) byNs.delete(namespace);
    } else {
      bucket.set(name, entry);
    }
    const event: ChangeEvent = { type, key, namespace, rv, entry, before };
    for (const subscriber of this.#subscribers) subscriber(event);
    return entry;
  }
}

/** An object's key within its resource as etcd orders it: `namespace/name`, or `name` when cluster-scoped. */
export function objectKey(object: KubeObject): string {
  const namespace = object.metadata?.namespace;
  const name = object.metadata?.name ?? "";
  return namespace ? `${namespace}/${name}` : name;
}

/** etcd's order: by {@linkcode objectKey}, byte-wise (so `a-b/x` comes before `a/x`). */
export function storageOrder(a: StoredEntry, b: StoredEntry): number {
  const ka = objectKey(a.object);
  const kb = objectKey(b.object);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
