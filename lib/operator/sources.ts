// The watches that feed the work queue, and which tenant each event is for (ARCHITECTURE.md §2):
// Tenants by name (and the tenants whose gateway hosts theirs overlap), managed Namespaces and
// per-tenant objects by the namespace they are in, mapped to its owner from the operator's own
// records, never from a label someone in that namespace can set (plus, for a namespace, the
// tenants waiting for it), integration kinds for as long as the cluster serves them. The echo of
// an own write queues nothing; a watch's initial state goes to the start-up audit instead.
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, type Tenant, TENANT_RESOURCE } from "../api/mod.ts";
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
import { ownWriteKey, type OwnWrites, tenantWriteKey } from "../controller/mod.ts";
import { observationKey } from "../reconcile/mod.ts";
import type { Audit } from "./audit.ts";
import { digest } from "../digest.ts";
import type { TenantIndex } from "./tenant_index.ts";
import type { WatchGroup } from "./watch_group.ts";

/** Per-tenant object kinds always served, watched for drift and deletion. */
export const BUILTIN_OBJECT_KINDS: readonly ResourceDescriptor[] = [
  resourceQuotas,
  limitRanges,
  networkPolicies,
];

/** The label selector of every watch but the Tenants': objects the operator manages. */
export const MANAGED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;

/** The name of the Tenant watch (logs, metrics, readiness). */
export const TENANTS_WATCH = "tenants";
/** The name of the managed-Namespace watch. */
export const NAMESPACES_WATCH = "namespaces";

/** Where tenants go to be reconciled (the work queue). */
export interface TenantQueue {
  /** Queues tenant `name`, with the Tenant its watch delivered when given. */
  add(name: string, tenant?: Tenant): void;
  /** Replaces the Tenant a waiting `name` carries, without queueing it. */
  carry(name: string, tenant: Tenant): void;
}

/** What the watch sources need. */
export interface WatchSourcesOptions {
  /** Where tenant names go to be reconciled. */
  queue: TenantQueue;
  /** Tenant names and uids, waiters. */
  index: TenantIndex;
  /** Runs the loops and tracks their health. */
  group: WatchGroup;
  /** The operator's own writes: their echoes queue nothing. */
  ownWrites: OwnWrites;
  /**
   * Whether queued tenants carry the Tenant their watch delivered (while this replica
   * reconciles; a standby keeps names only).
   */
  carry: () => boolean;
  /**
   * Told when a watch of managed objects relisted after its initial state (a 410, a skipped
   * event): a relist shows only what is selected now, so an object created and stripped of the
   * managed-by label while the watch was away arrives as nothing at all. Only a comparison of
   * every tenant with fresh lists (an audit pass) finds it.
   */
  relisted: (watch: string) => void;
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
  /**
   * What each per-tenant object showed besides its status when last seen after start-up (and, for
   * an object with a status, in the initial state), as a digest by object key (at most one short
   * entry per managed object, never the object).
   */
  readonly #seen = new Map<string, string>();
  /** The start-up audit, while watches deliver their initial state. */
  #audit?: Audit;

  /** Creates the sources; nothing runs until a watch is started. */
  constructor(client: KubeClient, options: WatchSourcesOptions) {
    this.#client = client;
    this.#options = options;
  }

  /**
   * Hands the initial state of every watch started from now on to `audit` (start-up: only the
   * tenants it finds unsettled are queued), until {@linkcode endAudit}.
   */
  startAudit(audit: Audit): void {
    this.#audit = audit;
  }

  /** Initial states of watches started from now on queue their tenants as any event does. */
  endAudit(): void {
    this.#audit = undefined;
  }

  /**
   * Watches Tenants (whole objects, of which the index keeps names, namespaces and hosts only):
   * an event queues the tenant, carrying it (unless it is the echo of an own write, which only
   * refreshes what a waiting tenant carries), and the later tenants whose gateway hosts its
   * change overlaps; a deletion always queues it.
   */
  tenants(signal: AbortSignal): Promise<void> {
    const { group, index, queue, timings } = this.#options;
    return group.consume(TENANTS_WATCH, signal, async () => {
      const watch = this.#client.resource<Tenant>(TENANT_RESOURCE).watch({
        signal,
        timings,
        onHealth: group.onHealth(TENANTS_WATCH),
      });
      group.register(TENANTS_WATCH, watch);
      const audit = this.#audit;
      let initial = true;
      for await (const event of watch) {
        if (event.type === "SYNCED") {
          if (initial) audit?.tenantsDone();
          initial = false;
          continue;
        }
        const tenant = event.object;
        const name = tenant.metadata?.name;
        if (!name) continue;
        const affected = event.type === "DELETED" ? index.remove(name) : index.update(tenant);
        // In the initial state, the audit looks at host claims once every Tenant is known.
        if (!initial || !audit) { for (const other of affected) queue.add(other); }
        if (event.type === "DELETED") {
          queue.add(name);
          continue;
        }
        // Nothing decides from them, and they are most of a fresh Tenant's bytes.
        if (tenant.metadata) delete tenant.metadata.managedFields;
        if (initial && audit) audit.tenant(tenant);
        else this.#tenantChanged(name, tenant);
      }
    });
  }

  /**
   * Watches managed Namespaces: queues the tenant the namespace belongs to (by name, from the
   * index) and the tenants waiting for it. A namespace stripped of the managed-by label arrives
   * as DELETED (it left the selection), which queues its tenant just the same.
   */
  namespaces(signal: AbortSignal): Promise<void> {
    const { index, queue, ownWrites } = this.#options;
    const kind = observationKey(namespaces);
    return this.#watchManaged(namespaces, NAMESPACES_WATCH, signal, {
      onEvent: (object) => {
        const name = object.metadata?.name ?? "";
        ownWrites.observe(
          ownWriteKey(kind, undefined, name),
          object.metadata?.resourceVersion,
          () => {
            for (const tenant of index.tenantsIn(name)) queue.add(tenant);
            for (const waiter of index.waitersOf(name)) queue.add(waiter);
          },
        );
      },
    });
  }

  /**
   * Watches managed per-tenant objects of one kind (whole objects, compared with what their
   * tenant's plan wants by the start-up audit). An event queues the tenants
   * `TenantIndex.tenantsFor` maps the object to: for an object in a namespace, the tenant owning
   * that namespace, and only when it has one of the operator's names (`kleff-*`), its labels
   * ignored, so objects in one namespace never wake another tenant; for a cluster-scoped object
   * (a constraint: only platform admins and the operator write those), the tenant its label or
   * annotation names. A change of nothing but an object's status (a quota's usage
   * after every pod change, a constraint's audit results) queues nothing: no decision reads the
   * status of these kinds (see {@linkcode contentWithoutStatus}).
   */
  objects(resource: ResourceDescriptor, signal: AbortSignal): Promise<void> {
    const { index, queue, ownWrites } = this.#options;
    const kind = observationKey(resource);
    const keyOf = (object: KubeObjectBase) =>
      ownWriteKey(kind, object.metadata?.namespace, object.metadata?.name ?? "");
    return this.#watchManaged(resource, kind, signal, {
      onEvent: (object, type) => {
        if (index.tenantsFor(resource, object) === undefined) return;
        const key = keyOf(object);
        if (type === "DELETED") this.#seen.delete(key);
        else if (!this.#remember(key, object)) return;
        ownWrites.observe(key, object.metadata?.resourceVersion, () => {
          for (const tenant of index.tenantsFor(resource, object) ?? []) queue.add(tenant);
        });
      },
      // An object someone else writes the status of (a quota, after every pod change) is
      // remembered from the initial state on: else the first such write after a start-up would
      // look like a change and reconcile its tenant. Objects without a status need no entry.
      onInitial: (object) => {
        const { status } = object as KubeObjectBase & { status?: object };
        if (status === undefined || Object.keys(status).length === 0) return;
        if (index.tenantsFor(resource, object) !== undefined) this.#remember(keyOf(object), object);
      },
    });
  }

  /**
   * Notes what `object` shows besides its status under `key`; whether that differs from what was
   * noted before (nothing noted counts as different).
   */
  #remember(key: string, object: KubeObjectBase): boolean {
    const seen = digest(contentWithoutStatus(object));
    if (this.#seen.get(key) === seen) return false;
    this.#seen.set(key, seen);
    return true;
  }

  /**
   * A Tenant event after the initial state: a waiting tenant carries it from now on; unless it is
   * the echo of an own write, the tenant is queued (carrying it, when the event is decided at
   * once; when it is held until an own write's answer, without: that write is newer).
   */
  #tenantChanged(name: string, tenant: Tenant): void {
    const { queue, ownWrites } = this.#options;
    const carry = this.#options.carry();
    if (carry) queue.carry(name, tenant);
    let now = true;
    ownWrites.observe(tenantWriteKey(name), tenant.metadata?.resourceVersion, () => {
      if (now && carry) queue.add(name, tenant);
      else queue.add(name);
    });
    now = false;
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

  /**
   * Watches objects of `resource` labelled as managed by the operator (namespaces as metadata
   * only): the initial state goes to the start-up audit if one is running (and to `onInitial`),
   * every other event to `onEvent`.
   */
  #watchManaged(
    resource: ResourceDescriptor,
    name: string,
    signal: AbortSignal,
    handlers: {
      onEvent: (object: KubeObjectBase, type: "ADDED" | "MODIFIED" | "DELETED") => void;
      onInitial?: (object: KubeObjectBase) => void;
    },
  ): Promise<void> {
    const { group, timings } = this.#options;
    return group.consume(name, signal, async () => {
      const watch = this.#client.resource<KubeObjectBase>(resource).watch({
        signal,
        metadataOnly: resource === namespaces,
        labelSelector: MANAGED_SELECTOR,
        timings,
        onHealth: group.onHealth(name),
        // A relist after the initial state asks for an audit pass, which compares every tenant
        // with fresh lists: the watch need not remember every object to tell what changed.
        forgetAfterSync: true,
      });
      group.register(name, watch);
      const audit = this.#audit;
      let initial = true;
      for await (const event of watch) {
        if (event.type === "SYNCED") {
          if (initial) audit?.kindDone(resource);
          else this.#options.relisted(name);
          initial = false;
        } else if (initial && audit && event.type !== "DELETED") {
          handlers.onInitial?.(event.object);
          audit.object(resource, event.object);
        } else handlers.onEvent(event.object, event.type);
      }
    });
  }
}

/**
 * An object as JSON without what changes on its own: its `status` and the bookkeeping of each
 * write (`resourceVersion`, `managedFields`), and without `kind` and `apiVersion`, which a watch's
 * events carry and the items of a LIST (a watch's initial state on a server without streaming
 * lists) do not. Two events give the same string when only those changed (the API server writes an
 * object's fields in a fixed order; any other difference makes the strings differ, which only
 * costs a reconcile).
 */
export function contentWithoutStatus(object: KubeObjectBase): string {
  const { status: _, metadata, kind: _kind, apiVersion: _version, ...rest } = object as
    & KubeObjectBase
    & { status?: unknown };
  const { resourceVersion: _resourceVersion, managedFields: _fields, ...kept } = metadata ?? {};
  return JSON.stringify({ ...rest, metadata: kept });
}
