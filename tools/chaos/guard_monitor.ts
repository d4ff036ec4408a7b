// Watches the guard rails while the chaos run goes on: every tenant namespace the operator holds
// (an Active namespace whose uid a live Tenant recorded as its own) must always have its
// ResourceQuota kleff-quota, NetworkPolicy kleff-isolation and PeerAuthentication kleff-mtls in
// force (present, carrying the tenant's ownership annotation and label, not opened up). Each stretch of time one is missing,
// disowned or weakened is a gap; a gap longer than the bound is a violation.
import type { Namespace, ResourceQuota } from "kubernetes-types/core/v1.d.ts";
import type { NetworkPolicy } from "kubernetes-types/networking/v1.d.ts";
import {
  type Tenant,
  TENANT_LABEL,
  TENANT_RESOURCE,
  TENANT_UID_ANNOTATION,
} from "../../lib/api/mod.ts";
import {
  type KubeClient,
  type KubeObjectBase,
  namespaces,
  networkPolicies,
  type ResourceDescriptor,
  resourceQuotas,
  type WatchTimings,
} from "../../lib/client/mod.ts";
import { CHAOS_PEER_AUTHENTICATIONS } from "./hostile.ts";
import type { InvariantResult } from "./invariants.ts";

/** Short reconnect delays: the monitor must see changes when they happen, faults or not. */
const MONITOR_TIMINGS: WatchTimings = { backoff: { initialMs: 50, maxMs: 250 } };

/** The guard rails watched per namespace. */
const GUARDED = ["kleff-quota", "kleff-isolation", "kleff-mtls"];

/**
 * Whether a guard rail (a quota, network policy or peer authentication of that name) is in force
 * for tenant `uid`.
 */
function inForce(object: KubeObjectBase | undefined, uid: string, tenant: string): boolean {
  if (object === undefined || object.metadata?.deletionTimestamp) return false;
  if (object.metadata?.annotations?.[TENANT_UID_ANNOTATION] !== uid) return false;
  if (object.metadata?.labels?.[TENANT_LABEL] !== tenant) return false;
  if (object.metadata?.name === "kleff-mtls") {
    const spec = (object as KubeObjectBase & { spec?: Record<string, unknown> }).spec;
    return JSON.stringify(spec) === JSON.stringify({ mtls: { mode: "STRICT" } });
  }
  if ((object as ResourceQuota).spec && object.metadata?.name === "kleff-quota") {
    const spec = (object as ResourceQuota).spec!;
    return !spec.scopes?.length && !spec.scopeSelector && spec.hard?.pods !== "999";
  }
  const spec = (object as NetworkPolicy).spec;
  return !spec?.ingress?.some((rule) => !rule.from?.length) &&
    !spec?.egress?.some((rule) => !rule.to?.length);
}

/** Tracks gaps in the guard rails of every tenant namespace, from watch events. */
export class GuardMonitor {
  readonly #client: KubeClient;
  readonly #boundMs: number;
  readonly #stop = new AbortController();
  readonly #loops: Promise<void>[] = [];
  readonly #tenants = new Map<string, Tenant>();
  readonly #namespaces = new Map<string, Namespace>();
  readonly #objects = new Map<string, KubeObjectBase>();
  /** Namespace name -> when its current gap started. */
  readonly #open = new Map<string, { since: number; what: string }>();
  readonly #gaps: { namespace: string; since: number; ms: number; what: string }[] = [];
  readonly #tracked = new Set<string>();

  /** A monitor over `client` failing gaps longer than `boundMs`. */
  constructor(client: KubeClient, boundMs: number) {
    this.#client = client;
    this.#boundMs = boundMs;
  }

  /** Starts the watches. */
  start(): void {
    this.#watch<Tenant>(TENANT_RESOURCE, (tenant, deleted) => {
      const uid = tenant.metadata?.uid ?? "";
      if (deleted) this.#tenants.delete(uid);
      else this.#tenants.set(uid, tenant);
      const namespace = tenant.status?.namespace;
      if (namespace) this.#check(namespace);
    });
    this.#watch<Namespace>(namespaces, (namespace, deleted) => {
      const name = namespace.metadata?.name ?? "";
      if (deleted) this.#namespaces.delete(name);
      else this.#namespaces.set(name, namespace);
      this.#check(name);
    });
    for (const resource of [resourceQuotas, networkPolicies, CHAOS_PEER_AUTHENTICATIONS]) {
      this.#watch<KubeObjectBase>(resource, (object, deleted) => {
        const name = object.metadata?.name ?? "";
        if (!GUARDED.includes(name)) return;
        const namespace = object.metadata?.namespace ?? "";
        const key = `${namespace}/${name}`;
        if (deleted) this.#objects.delete(key);
        else this.#objects.set(key, object);
        this.#check(namespace);
      });
    }
  }

  /** Stops the watches and returns the invariant: every gap, closed now, within the bound. */
  async stop(): Promise<InvariantResult> {
    this.#stop.abort();
    await Promise.allSettled(this.#loops);
    const now = Date.now();
    for (const [namespace, gap] of this.#open) {
      this.#gaps.push({
        namespace,
        since: gap.since,
        ms: now - gap.since,
        what: `${gap.what} (still open)`,
      });
    }
    this.#open.clear();
    const longest = this.#gaps.reduce((max, gap) => Math.max(max, gap.ms), 0);
    return {
      name: `no tenant namespace without its quota, isolation and mTLS for over ${
        this.#boundMs / 1000
      } s (${this.#tracked.size} namespaces, ${this.#gaps.length} gaps, longest ${longest} ms)`,
      checked: this.#gaps.length,
      violations: this.#gaps.filter((gap) => gap.ms > this.#boundMs).map((gap) =>
        `${gap.namespace}: ${gap.what} for ${gap.ms} ms from ${new Date(gap.since).toISOString()}`
      ),
    };
  }

  /** Opens or closes the gap of namespace `name` from what is known now. */
  #check(name: string): void {
    const namespace = this.#namespaces.get(name);
    const owner = [...this.#tenants.values()].find((tenant) =>
      !tenant.metadata?.deletionTimestamp && tenant.status?.namespace === name &&
      tenant.status?.namespaceUID === namespace?.metadata?.uid
    );
    const held = namespace !== undefined && owner !== undefined &&
      !namespace.metadata?.deletionTimestamp && namespace.status?.phase !== "Terminating";
    const missing = held
      ? GUARDED.filter((rail) =>
        !inForce(this.#objects.get(`${name}/${rail}`), owner.metadata!.uid!, owner.metadata!.name!)
      )
      : [];
    if (held) this.#tracked.add(name);
    const open = this.#open.get(name);
    if (missing.length > 0 && open === undefined) {
      this.#open.set(name, { since: Date.now(), what: `${missing.join(", ")} not in force` });
    } else if (missing.length === 0 && open !== undefined) {
      this.#open.delete(name);
      this.#gaps.push({
        namespace: name,
        since: open.since,
        ms: Date.now() - open.since,
        what: open.what,
      });
    }
  }

  #watch<T extends KubeObjectBase>(
    resource: ResourceDescriptor,
    onEvent: (object: T, deleted: boolean) => void,
  ): void {
    const signal = this.#stop.signal;
    this.#loops.push((async () => {
      while (!signal.aborted) {
        try {
          const watch = this.#client.resource<T>(resource).watch({
            signal,
            timings: MONITOR_TIMINGS,
          });
          for await (const event of watch) {
            if (event.type !== "SYNCED") onEvent(event.object, event.type === "DELETED");
          }
        } catch {
          // An injected fault ended the watch: start it again.
        }
      }
    })());
  }
}
