// The watches that feed the work queue, and which tenant each event is for (ARCHITECTURE.md §2):
// Tenants by name (and the tenants whose gateway hosts theirs overlap), managed Namespaces and
// per-tenant objects by the namespace they are in, mapped to its owner from the operator's own
// records, never from a label someone in that namespace can set (plus, for a namespace, the
// tenants waiting for it), integration kinds for as long as the cluster serves them.
import {
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  OBJECT_NAME_PREFIX,
  TENANT_RESOURCE,
} from "../api/mod.ts";
import {
  type KubeClient,
  type KubeObjectBase,
  limitRanges,
  namespaces,
  networkPolicies,
  type ResourceDescriptor,
  resourceQuotas,
  type WatchTimings,
} from "../client/mod.ts";
import { observationKey } from "../reconcile/mod.ts";
import type { TenantIndex, WatchedTenant } from "./tenant_index.ts";
import type { WatchGroup } from "./watch_group.ts";

/** Per-tenant object kinds always served, watched for drift and deletion. */
export const BUILTIN_OBJECT_KINDS: readonly ResourceDescriptor[] = [
  resourceQuotas,
  limitRanges,
  networkPolicies,
];

/** The name of the Tenant watch (logs, metrics, readiness). */
export const TENANTS_WATCH = "tenants";
/** The name of the managed-Namespace watch. */
export const NAMESPACES_WATCH = "namespaces";

/** What the watch sources need. */
export interface WatchSourcesOptions {
  /** Where tenant names go to be reconciled. */
  queue: { add(key: string): void };
  /** Tenant names and uids, waiters. */
  index: TenantIndex;
  /** Runs the loops and tracks their health. */
  group: WatchGroup;
  /** Watch timing overrides (tests). */
  timings?: WatchTimings;
}

/** Starts the watch loops that queue tenants. */
export class WatchSources {
  readonly #client: KubeClient;
  readonly #options: WatchSourcesOptions;
  /**
   * Watches of integration kinds, by descriptor (a new version is a new watch), stopped when a
   * kind stops being served; `#kindLoops` holds every such loop still running.
   */
  readonly #kindWatches = new Map<string, AbortController>();
  readonly #kindLoops = new Set<Promise<void>>();

  /** Creates the sources; nothing runs until a watch is started. */
  constructor(client: KubeClient, options: WatchSourcesOptions) {
    this.#client = client;
    this.#options = options;
  }

  /**
   * Watches Tenants (whole objects, of which the index keeps names, namespaces and hosts only):
   * every event queues the tenant, and the tenants whose gateway hosts its change overlaps.
   */
  tenants(signal: AbortSignal): Promise<void> {
    const { group, index, queue, timings } = this.#options;
    return group.consume(TENANTS_WATCH, signal, async () => {
      const watch = this.#client.resource<WatchedTenant>(TENANT_RESOURCE).watch({
        signal,
        timings,
        onHealth: group.onHealth(TENANTS_WATCH),
      });
      group.register(TENANTS_WATCH, watch);
      for await (const event of watch) {
        if (event.type === "SYNCED") continue;
        const name = event.object.metadata?.name;
        if (!name) continue;
        const affected = event.type === "DELETED" ? index.remove(name) : index.update(event.object);
        queue.add(name);
        for (const other of affected) queue.add(other);
      }
    });
  }

  /**
   * Watches managed Namespaces: queues the tenant the namespace belongs to (by name, from the
   * index) and the tenants waiting for it. A namespace stripped of the managed-by label arrives
   * as DELETED (it left the selection), which queues its tenant just the same.
   */
  namespaces(signal: AbortSignal): Promise<void> {
    const { index, queue } = this.#options;
    return this.#watchManaged(namespaces, NAMESPACES_WATCH, signal, (object) => {
      const name = object.metadata?.name ?? "";
      for (const tenant of index.tenantsIn(name)) queue.add(tenant);
      for (const waiter of index.waitersOf(name)) queue.add(waiter);
    });
  }

  /**
   * Watches managed per-tenant objects of one kind. An object in a namespace queues only the
   * tenant owning that namespace, and only when it has one of the operator's names (`kleff-*`):
   * its labels are ignored, so objects in one namespace never wake another tenant. A
   * cluster-scoped object (a constraint: only platform admins and the operator write those)
   * queues the tenant its label or annotation names.
   */
  objects(resource: ResourceDescriptor, signal: AbortSignal): Promise<void> {
    const { index, queue } = this.#options;
    return this.#watchManaged(resource, observationKey(resource), signal, (object) => {
      if (!resource.namespaced) {
        const owner = index.ownerOf(object);
        if (owner) queue.add(owner);
        return;
      }
      if (!object.metadata?.name?.startsWith(OBJECT_NAME_PREFIX)) return;
      for (const tenant of index.tenantsIn(object.metadata.namespace ?? "")) queue.add(tenant);
    });
  }

  /**
   * Watches exactly the `served` integration kinds: stops the others at once and, given the
   * `signal` that stops them (once start-up reached them), starts the missing ones.
   */
  syncKinds(served: readonly ResourceDescriptor[], signal?: AbortSignal): void {
    const wanted = new Set(served.map((resource) => JSON.stringify(resource)));
    for (const [key, watch] of this.#kindWatches) {
      if (!wanted.has(key)) {
        watch.abort();
        this.#kindWatches.delete(key);
      }
    }
    if (signal === undefined) return;
    for (const resource of served) this.kind(resource, signal);
  }

  /**
   * Starts watching integration kind `resource` unless it is watched already or `signal` has
   * aborted; returns the watch loop, or `undefined` when nothing started.
   */
  kind(resource: ResourceDescriptor, signal: AbortSignal): Promise<void> | undefined {
    const key = JSON.stringify(resource);
    if (signal.aborted || this.#kindWatches.has(key)) return undefined;
    const watch = new AbortController();
    this.#kindWatches.set(key, watch);
    const loop = this.objects(resource, watch.signal);
    const forget = () => this.#kindLoops.delete(loop);
    this.#kindLoops.add(loop);
    loop.then(forget, forget);
    return loop;
  }

  /** Stops every integration kind watch and resolves when their loops ended. */
  async stopKinds(): Promise<void> {
    for (const watch of this.#kindWatches.values()) watch.abort();
    this.#kindWatches.clear();
    await Promise.allSettled([...this.#kindLoops]);
  }

  /** Watches objects of `resource` labelled as managed by the operator (metadata only). */
  #watchManaged(
    resource: ResourceDescriptor,
    name: string,
    signal: AbortSignal,
    onEvent: (object: KubeObjectBase) => void,
  ): Promise<void> {
    const { group, timings } = this.#options;
    return group.consume(name, signal, async () => {
      const watch = this.#client.resource<KubeObjectBase>(resource).watch({
        signal,
        metadataOnly: true,
        labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
        timings,
        onHealth: group.onHealth(name),
      });
      group.register(name, watch);
      for await (const event of watch) {
        if (event.type !== "SYNCED") onEvent(event.object);
      }
    });
  }
}
