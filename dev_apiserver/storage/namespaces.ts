// The namespace controller: a deleted namespace goes Terminating, its content is deleted, then it goes.
import type { ApiCore } from "./core.ts";
import { clone, isDeleting, timestamp } from "./objects.ts";
import { NAMESPACES } from "./resources.ts";
import type { KubeObject } from "../types.ts";

interface Condition {
  type: string;
  status: "True" | "False";
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** kube-controller-manager's namespace controller, as managedFields name it. */
const NAMESPACE_CONTROLLER = { manager: "kube-controller-manager", subresource: "status" };

/** Deletes the content of terminating namespaces and finalizes them when it is gone. */
export class NamespaceController {
  #core: ApiCore;
  #syncing = new Set<string>();

  /** Binds the controller to the server state. */
  constructor(core: ApiCore) {
    this.#core = core;
  }

  /** Called after an object in `namespace` was removed. */
  contentRemoved(namespace: string): void {
    const ns = this.#core.store.get(NAMESPACES, "", namespace);
    if (ns && isDeleting(ns.object)) this.sync(namespace);
  }

  /** Deletes what is left in a terminating namespace and updates its status or finalizes it. */
  sync(namespace: string): void {
    if (this.#syncing.has(namespace)) return;
    this.#syncing.add(namespace);
    try {
      this.#deleteContent(namespace);
    } finally {
      this.#syncing.delete(namespace);
    }
    const entry = this.#core.store.get(NAMESPACES, "", namespace);
    if (!entry || !isDeleting(entry.object)) return;
    const remaining = this.#remaining(namespace);
    const next = clone(entry.object);
    const spec = (next.spec ?? {}) as { finalizers?: string[] };
    if (remaining.total === 0) {
      next.spec = {
        ...spec,
        finalizers: (spec.finalizers ?? []).filter((f) => f !== "kubernetes"),
      };
    }
    next.status = { phase: "Terminating", conditions: this.#conditions(entry.object, remaining) };
    this.#core.write(NAMESPACES, entry.object, next, NAMESPACE_CONTROLLER);
  }

  #deleteContent(namespace: string): void {
    const store = this.#core.store;
    for (const key of store.keys()) {
      if (key === NAMESPACES) continue;
      const info = this.#core.infoFor(key);
      if (!info?.namespaced) continue;
      for (const item of store.list(key, namespace)) {
        const fresh = store.get(key, namespace, item.object.metadata!.name!);
        if (fresh && !isDeleting(fresh.object)) this.#core.deleteObject(info, fresh.object);
      }
    }
  }

  #remaining(
    namespace: string,
  ): { total: number; byResource: Map<string, number>; byFinalizer: Map<string, number> } {
    const byResource = new Map<string, number>();
    const byFinalizer = new Map<string, number>();
    let total = 0;
    for (const key of this.#core.store.keys()) {
      if (key === NAMESPACES) continue;
      const items = this.#core.store.list(key, namespace);
      if (items.length === 0) continue;
      total += items.length;
      const [group, resource] = key.split("/");
      // kube-apiserver's wording: "<resource>.<group>", so "configmaps." for the core group.
      byResource.set(`${resource}.${group}`, items.length);
      for (const item of items) {
        for (const f of item.object.metadata?.finalizers ?? []) {
          byFinalizer.set(f, (byFinalizer.get(f) ?? 0) + 1);
        }
      }
    }
    return { total, byResource, byFinalizer };
  }

  #conditions(
    ns: KubeObject,
    remaining: { total: number; byResource: Map<string, number>; byFinalizer: Map<string, number> },
  ): Condition[] {
    const old = (ns.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
    const now = timestamp();
    const make = (
      type: string,
      status: "True" | "False",
      reason: string,
      message: string,
    ): Condition => {
      const prior = old.find((c) => c.type === type);
      const since = prior && prior.status === status ? prior.lastTransitionTime : now;
      return { type, status, lastTransitionTime: since, reason, message };
    };
    const resources = [...remaining.byResource].map(([r, n]) => `${r} has ${n} resource instances`)
      .sort();
    const finalizers = [...remaining.byFinalizer].map(([f, n]) =>
      `${f} in ${n} resource instances`
    );
    return [
      make(
        "NamespaceDeletionDiscoveryFailure",
        "False",
        "ResourcesDiscovered",
        "All resources successfully discovered",
      ),
      make(
        "NamespaceDeletionGroupVersionParsingFailure",
        "False",
        "ParsedGroupVersions",
        "All legacy kube types successfully parsed",
      ),
      make(
        "NamespaceDeletionContentFailure",
        "False",
        "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
      ),
      resources.length > 0
        ? make(
          "NamespaceContentRemaining",
          "True",
          "SomeResourcesRemain",
          `Some resources are remaining: ${resources.join(", ")}`,
        )
        : make(
          "NamespaceContentRemaining",
          "False",
          "ContentRemoved",
          "All content successfully removed",
        ),
      finalizers.length > 0
        ? make(
          "NamespaceFinalizersRemaining",
          "True",
          "SomeFinalizersRemain",
          `Some content in the namespace has finalizers remaining: ${finalizers.join(", ")}`,
        )
        : make(
          "NamespaceFinalizersRemaining",
          "False",
          "ContentHasNoFinalizers",
          "All content-preserving finalizers finished",
        ),
    ];
  }
}
