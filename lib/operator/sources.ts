// The watches that feed the work queue, and which tenant each event is for: Tenants by name,
// managed Namespaces and per-tenant objects by their owner (plus the tenants waiting for that
// namespace), integration kinds for as long as the cluster serves them.
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, TENANT_RESOURCE } from "../api/mod.ts";
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
import type { TenantIndex } from "./tenant_index.ts";
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

  /** Watches Tenants (metadata only): every event queues the tenant and updates the index. */
  tenants(signal: AbortSignal): Promise<void> {
    const { group, index, queue, timings } = this.#options;
    return group.consume(TENANTS_WATCH, signal, async () => {
      const watch = this.#client.resource<KubeObjectBase>(TENANT_RESOURCE).watch({
        signal,
        metadataOnly: true,
        timings,
        onHealth: group.onHealth(TENANTS_WATCH),
      });
      group.register(TENANTS_WATCH, watch);
      for await (const event of watch) {
        if (event.type === "SYNCED") continue;
        const name = event.object.metadata?.name;
        if (!name) continue;
        index.track(name, event.type === "DELETED" ? undefined : event.object.metadata?.uid);
        queue.add(name);
      }
    });
  }

  /** Watches managed Namespaces: queues the owner and the tenants waiting for that namespace. */
  namespaces(signal: AbortSignal): Promise<void> {
    const { index, queue } = this.#options;
    return this.#watchManaged(namespaces, NAMESPACES_WATCH, signal, (object) => {
      const owner = index.ownerOf(object);
      if (owner) queue.add(owner);
      for (const waiter of index.waitersOf(object.metadata?.name ?? "")) queue.add(waiter);
    });
  }

  /** Watches managed per-tenant objects of one kind and queues their tenant. */
  objects(resource: ResourceDescriptor, signal: AbortSignal): Promise<void> {
    const { index, queue } = this.#options;
    return this.#watchManaged(resource, observationKey(resource), signal, (object) => {
      const owner = index.ownerOf(object);
      if (owner) queue.add(owner);
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
