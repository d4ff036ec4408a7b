// What the operator remembers about tenants between reconciles, as names only (no objects): each
// tenant's uid, the namespace its status gives it (to map an event in a namespace to the one
// tenant owning it: ARCHITECTURE.md §2), its gateway hosts and creation order (to find the tenants
// that claimed overlapping hosts first), and which tenants wait for a namespace another holds.
import { NamesByKey } from "./names.ts";
import {
  namespaces,
  OBJECT_NAME_PREFIX,
  parseTime,
  type ResourceDescriptor,
  TENANT_LABEL,
  TENANT_UID_ANNOTATION,
  type TenantSpec,
  type TenantStatus,
} from "../api/mod.ts";
import type { KubeObjectBase } from "../client/mod.ts";
import { type HostClaim, tenantHosts, waitsForNamespace } from "../reconcile/mod.ts";
import { HostIndex } from "./host_index.ts";

/** A Tenant as the Tenant watch delivers it (whole objects: spec and status are read). */
export interface WatchedTenant extends KubeObjectBase {
  /** The spec (hosts are rendered from it). */
  spec?: Partial<TenantSpec>;
  /** The status (`status.namespace` maps events to the tenant). */
  status?: TenantStatus;
}

/** A tenant's place in the claim order: older first, then by name. */
interface ClaimOrder {
  /** Creation time, ms since the epoch (+Infinity without one). */
  created: number;
  /** Tenant name. */
  name: string;
}

/** What the index keeps per tenant, besides its place in the claim order. */
interface TenantEntry extends ClaimOrder {
  /** `metadata.uid`. */
  uid: string;
  /** The namespace its latest decision gives it, else its status as watched. */
  namespace?: string;
  /** Whether a decision set `namespace` (then watch events, which may lag, leave it alone). */
  decided: boolean;
  /** Its rendered gateway hosts. */
  hosts: readonly string[];
}

/** Options of {@linkcode TenantIndex}. */
export interface TenantIndexOptions {
  /** Gateway host templates (`--gateway-hosts`). */
  gatewayHosts: readonly string[];
}

/** The claim order of a Tenant. */
function orderOf(tenant: KubeObjectBase): ClaimOrder {
  return {
    created: parseTime(tenant.metadata?.creationTimestamp) ?? Infinity,
    name: tenant.metadata?.name ?? "",
  };
}

/** Whether `a` claimed before `b`. */
function claimsBefore(a: ClaimOrder, b: ClaimOrder): boolean {
  return a.created < b.created || (a.created === b.created && a.name < b.name);
}

/** Tenant names, uids, namespaces and hosts from the Tenant watch, and the NamespaceConflict waiters. */
export class TenantIndex {
  readonly #templates: readonly string[];
  readonly #tenants = new Map<string, TenantEntry>();
  /** uid -> tenant name. */
  readonly #names = new Map<string, string>();
  /** Namespace name -> the tenants whose status gives them that namespace. */
  readonly #byNamespace = new NamesByKey();
  readonly #hosts = new HostIndex();
  /** Namespace name -> tenants in NamespaceConflict over it, and the reverse. */
  readonly #waiters = new NamesByKey();
  readonly #waitingOn = new Map<string, string>();

  /** An empty index rendering hosts with `options.gatewayHosts`. */
  constructor(options: TenantIndexOptions) {
    this.#templates = options.gatewayHosts;
  }

  /** Every known tenant name. */
  names(): IterableIterator<string> {
    return this.#tenants.keys();
  }

  /** How many tenants are known. */
  get size(): number {
    return this.#tenants.size;
  }

  /**
   * Records a Tenant as the watch delivered it. Returns the later tenants whose host claims may
   * have changed with it (their hosts overlap its old or new ones), to be reconciled.
   */
  update(tenant: WatchedTenant): string[] {
    const name = tenant.metadata?.name;
    const uid = tenant.metadata?.uid;
    if (!name || !uid) return [];
    const previous = this.#tenants.get(name);
    if (previous !== undefined && previous.uid !== uid) this.#names.delete(previous.uid);
    const decided = previous !== undefined && previous.uid === uid && previous.decided;
    // Every field written out (no spread): the engine then keeps them all inside the object,
    // where a spread would move most of them to a separate property array, for 10,000s of entries.
    const { created } = orderOf(tenant);
    const entry: TenantEntry = {
      created,
      name,
      uid,
      namespace: previous?.namespace,
      decided,
      hosts: tenantHosts(tenant, this.#templates) ?? [],
    };
    this.#tenants.set(name, entry);
    this.#names.set(uid, name);
    if (!decided) this.#setNamespace(name, entry, tenant.status?.namespace);
    return this.#moveHosts(entry, { before: previous?.hosts ?? [], after: entry.hosts });
  }

  /** Forgets a deleted Tenant; returns the later tenants whose hosts overlapped its own. */
  remove(name: string): string[] {
    const entry = this.#tenants.get(name);
    if (entry === undefined) return [];
    this.#setNamespace(name, entry, undefined);
    this.#tenants.delete(name);
    this.#names.delete(entry.uid);
    this.noteStatus(name, undefined);
    return this.#moveHosts(entry, { before: entry.hosts, after: [] });
  }

  /**
   * Notes the namespace a decision gives a known tenant, before its writes run: from then on
   * it, not the (possibly lagging) watched status, maps that namespace's events to the tenant.
   */
  claimNamespace(name: string, namespace: string | undefined): void {
    const entry = this.#tenants.get(name);
    if (entry === undefined) return;
    entry.decided = true;
    this.#setNamespace(name, entry, namespace);
  }

  /** The tenants whose status gives them namespace `name` (usually one; none for others'). */
  tenantsIn(name: string): Iterable<string> {
    return this.#byNamespace.get(name);
  }

  /**
   * The tenants an event or a listed object of `resource` is for, from the operator's own records,
   * never from a label someone in a tenant namespace can set: a namespace's tenants (see
   * {@linkcode tenantsIn}); for an object in a namespace, that namespace's tenants, and only when
   * it has one of the operator's names (`kleff-*`); for a cluster-scoped object, its owner (see
   * {@linkcode ownerOf}). `undefined` when the object is none the operator maps.
   */
  tenantsFor(resource: ResourceDescriptor, object: KubeObjectBase): Iterable<string> | undefined {
    const name = object.metadata?.name ?? "";
    if (resource.group === namespaces.group && resource.kind === namespaces.kind) {
      return this.tenantsIn(name);
    }
    if (resource.namespaced) {
      return name.startsWith(OBJECT_NAME_PREFIX)
        ? this.tenantsIn(object.metadata?.namespace ?? "")
        : undefined;
    }
    const owner = this.ownerOf(object);
    return owner === undefined ? undefined : [owner];
  }

  /**
   * The tenant a cluster-scoped object (a Gatekeeper constraint, which only platform admins and
   * the operator can write) belongs to: its `kleff.io/tenant` label, or the tenant whose uid its
   * `kleff.io/tenant-uid` annotation names.
   */
  ownerOf(object: KubeObjectBase): string | undefined {
    const metadata = object.metadata;
    return metadata?.labels?.[TENANT_LABEL] ??
      this.#names.get(metadata?.annotations?.[TENANT_UID_ANNOTATION] ?? "");
  }

  /**
   * The gateway hosts claimed before `tenant` (older, then by name) that overlap `hosts`, in
   * claim order: what its decision needs to know (see `HostClaim`).
   */
  hostClaims(tenant: KubeObjectBase, hosts: readonly string[]): HostClaim[] {
    const order = orderOf(tenant);
    return [...this.#overlapping(order.name, hosts)]
      .filter((claim) => claimsBefore(claim, order))
      .sort((a, b) => claimsBefore(a, b) ? -1 : 1)
      .map((claim) => ({ tenant: claim.name, hosts: claim.hosts }));
  }

  /**
   * Whether a gateway host of tenant `name` overlaps one a tenant claimed before it (older, then
   * by name): its decision then depends on that claim (see {@linkcode hostClaims}).
   */
  claimedBefore(name: string): boolean {
    const entry = this.#tenants.get(name);
    if (entry === undefined) return false;
    for (const claim of this.#overlapping(name, entry.hosts)) {
      if (claimsBefore(claim, entry)) return true;
    }
    return false;
  }

  /**
   * Notes a tenant's status after a reconcile and the namespace it observed: a tenant in
   * NamespaceConflict over `namespace` is remembered as waiting for it, so that an event on that
   * namespace (its owner deleting it) wakes it at once instead of at its next conflict requeue.
   */
  noteStatus(tenant: string, status: TenantStatus | undefined, namespace?: string): void {
    const previous = this.#waitingOn.get(tenant);
    const next = waitsForNamespace(status) ? namespace : undefined;
    if (previous === next) return;
    if (previous !== undefined) {
      this.#waiters.delete(previous, tenant);
      this.#waitingOn.delete(tenant);
    }
    if (next !== undefined) {
      this.#waiters.add(next, tenant);
      this.#waitingOn.set(tenant, next);
    }
  }

  /** The tenants waiting for namespace `name` (see {@linkcode noteStatus}). */
  waitersOf(name: string): Iterable<string> {
    return this.#waiters.get(name);
  }

  #setNamespace(name: string, entry: TenantEntry, namespace: string | undefined): void {
    if (entry.namespace === namespace) return;
    if (entry.namespace !== undefined) this.#byNamespace.delete(entry.namespace, name);
    entry.namespace = namespace;
    if (namespace !== undefined) this.#byNamespace.add(namespace, name);
  }

  /**
   * Moves a tenant's host claims from `before` to `after`; returns the tenants after it (in claim
   * `order`) whose hosts overlap them: only a later tenant's decision depends on this claim (the
   * first claimant keeps a host), so a new tenant wakes no one, however many share its hosts.
   */
  #moveHosts(
    order: ClaimOrder,
    { before, after }: { before: readonly string[]; after: readonly string[] },
  ): string[] {
    const { name } = order;
    if (before.length === after.length && before.every((host, i) => host === after[i])) return [];
    for (const host of before) this.#hosts.remove(name, host);
    const affected = [...this.#overlapping(name, [...before, ...after])]
      .filter((other) => claimsBefore(order, other))
      .map((other) => other.name);
    for (const host of after) this.#hosts.add(name, host);
    return affected;
  }

  /** The entry of each other known tenant claiming a host that overlaps one of `hosts`, once. */
  *#overlapping(name: string, hosts: readonly string[]): Generator<TenantEntry> {
    const seen = new Set<string>([name]);
    for (const host of hosts) {
      for (const other of this.#hosts.overlapping(host)) {
        if (seen.has(other)) continue;
        seen.add(other);
        const entry = this.#tenants.get(other);
        if (entry !== undefined) yield entry;
      }
    }
  }
}
