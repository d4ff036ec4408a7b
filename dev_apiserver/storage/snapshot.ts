// Lists as of an earlier resourceVersion, rebuilt from the watch history by undoing later changes:
// what etcd serves for every page of a paged list (the first page's revision) and exact lists.
import { objectKey, type ObjectStore, storageOrder, type StoredEntry } from "./store.ts";
import type { WatchHub } from "./watch.ts";

/** Which objects to list, and as of when. */
export interface SnapshotQuery {
  /** Storage key `group/resource`. */
  key: string;
  /** One namespace, or all when absent. */
  namespace?: string;
  /** The resourceVersion to list at. */
  rv: number;
}

/**
 * The entries of `query.key` as they were at `query.rv`, in storage order: objects deleted since
 * are back, modified ones at their old version, new ones absent. Undefined when the history no
 * longer reaches back to `query.rv` (etcd would answer "compacted").
 */
export function listAt(
  store: ObjectStore,
  hub: WatchHub,
  query: SnapshotQuery,
): StoredEntry[] | undefined {
  const { key, namespace, rv } = query;
  const current = store.list(key, namespace);
  if (rv >= store.rv) return current;
  if (hub.tooOld(rv)) return undefined;
  const undo = [];
  for (const change of hub.changesSince(rv)) {
    if (change.key === key && (namespace === undefined || change.namespace === namespace)) {
      undo.push(change);
    }
  }
  if (undo.length === 0) return current;
  const byKey = new Map(current.map((entry) => [objectKey(entry.object), entry]));
  for (const change of undo.reverse()) {
    const name = objectKey(change.entry.object);
    if (change.before) byKey.set(name, change.before);
    else byKey.delete(name);
  }
  return [...byKey.values()].sort(storageOrder);
}
