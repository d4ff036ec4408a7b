// One audit pass (ARCHITECTURE.md §2): the Tenants, then the managed namespaces, then each
// per-tenant kind, as a restart's watches deliver their initial state or a resync lists them page
// by page, each object compared as it streams by with what its tenant's plan wants and dropped.
// Only the tenants that need a reconcile are queued: O(kinds) requests, not O(tenants). A tenant
// is kept as a few digests while its objects are awaited, never as objects.
import {
  type KubeObjectBase,
  namespaces,
  type ResourceDescriptor,
  type Tenant,
} from "../client/mod.ts";
import {
  auditTenant,
  hostClaimsMatter,
  observationKey,
  observedContent,
  type OwnedShape,
  type PlanContext,
  type SettledTenant,
  wouldPrune,
} from "../reconcile/mod.ts";
import { log } from "../log.ts";
import { DIGEST_BYTES, digestBytes } from "../digest.ts";
import type { TenantIndex } from "./tenant_index.ts";

/** One object every settled tenant of a layout must have. */
interface LayoutItem {
  /** Its kind. */
  resource: ResourceDescriptor;
  /** `observationKey` of its kind. */
  kind: string;
  /** Its name when the same for every tenant (a namespaced object), else in `Awaiting.names`. */
  name?: string;
  /** What is compared. */
  shape: OwnedShape;
}

/** The objects a plan wants, in order, shared by every settled tenant with that plan. */
interface Layout {
  /** Its items, the namespace first. */
  items: LayoutItem[];
}

/**
 * A settled tenant while its objects are awaited: its layout, the names that are its own, and
 * where the pass's slabs hold the digest of what each item must hold and whether it was listed.
 */
interface Awaiting extends Pick<SettledTenant, "name" | "uid" | "namespace" | "namespaceUID"> {
  layout: Layout;
  /** The names of the layout's items without a shared name, in order. */
  names: string[];
  /** Index of its first item in the slabs. */
  at: number;
}

/**
 * The digests (16 bytes an item) and listed flags (a byte an item) of every awaited tenant of a
 * pass, in two growing byte arrays instead of a string and an object per item.
 */
class Slab {
  #digests: Uint8Array;
  #listed: Uint8Array;
  #used = 0;

  /** Empty slabs with room for `capacity` items. */
  constructor(capacity = 1024) {
    this.#digests = new Uint8Array(DIGEST_BYTES * capacity);
    this.#listed = new Uint8Array(capacity);
  }

  /** Reserves `count` items; returns the index of the first. */
  reserve(count: number): number {
    const at = this.#used;
    this.#used += count;
    if (this.#used > this.#listed.length) {
      const size = Math.max(this.#used, 2 * this.#listed.length);
      const digests = new Uint8Array(DIGEST_BYTES * size);
      digests.set(this.#digests);
      const listed = new Uint8Array(size);
      listed.set(this.#listed);
      this.#digests = digests;
      this.#listed = listed;
    }
    return at;
  }

  /** Stores the digest of item `index`. */
  setDigest(index: number, digest: Uint8Array): void {
    this.#digests.set(digest.subarray(0, DIGEST_BYTES), DIGEST_BYTES * index);
  }

  /** Whether item `index`'s digest is `digest`. */
  matches(index: number, digest: Uint8Array): boolean {
    const base = DIGEST_BYTES * index;
    for (let i = 0; i < DIGEST_BYTES; i++) {
      if (this.#digests[base + i] !== digest[i]) return false;
    }
    return true;
  }

  /** Whether item `index` was listed as it must be. */
  listed(index: number): boolean {
    return this.#listed[index] === 1;
  }

  /** Notes item `index` as listed as it must be. */
  setListed(index: number): void {
    this.#listed[index] = 1;
  }
}

/** What an audit needs. */
export interface AuditOptions {
  /** Tenant names, namespaces and hosts (maps objects to their tenant). */
  index: TenantIndex;
  /** The plan context in force. */
  context: () => PlanContext;
  /**
   * Queues a tenant that needs a reconcile, with the Tenant as audited when the audit had it in
   * hand (the caller decides whether the queue may carry it).
   */
  queue: (name: string, tenant?: Tenant) => void;
  /** Told every Tenant audited (a restart reports their status from it). */
  audited?: (tenant: Tenant) => void;
}

/** What a pass found, for logs and tests. */
export interface AuditSummary {
  /** Tenants audited. */
  tenants: number;
  /** Tenants queued for a reconcile. */
  queued: number;
}

/**
 * One audit pass. Call {@linkcode tenant} for every Tenant, {@linkcode tenantsDone}, then for each
 * kind (the namespaces first) {@linkcode object} for every object of it and {@linkcode kindDone},
 * and {@linkcode close} at the end (also after a pass cut short: every tenant still awaiting an
 * object is queued, and so is the tenant of anything handed in later).
 */
export class Audit {
  readonly #options: AuditOptions;
  readonly #awaiting = new Map<string, Awaiting>();
  #slab = new Slab();
  /** Interned layouts: one object per distinct layout in this pass. */
  readonly #layouts = new Map<string, Layout>();
  /** Interned shapes: one object per distinct shape (and kind) in this pass, numbered. */
  readonly #shapes = new Map<string, { shape: OwnedShape; id: number }>();
  readonly #normalizers = new Map<unknown, number>();
  /** Tenants queued by this pass, until it closes; then only their count. */
  readonly #queued = new Set<string>();
  #queuedCount = 0;
  #tenants = 0;
  /** Set by {@linkcode close}: whatever comes later is queued without a comparison. */
  #closed = false;

  /** A pass with nothing audited yet. */
  constructor(options: AuditOptions) {
    this.#options = options;
  }

  /** What the pass found so far. */
  get summary(): AuditSummary {
    return { tenants: this.#tenants, queued: this.#queuedCount };
  }

  /** Audits one Tenant: queues it unless it is settled, else awaits its objects. */
  tenant(tenant: Tenant): void {
    const name = tenant.metadata?.name;
    if (!name) return;
    if (this.#closed) return this.#options.queue(name, tenant);
    this.#tenants++;
    this.#awaiting.delete(name);
    this.#options.audited?.(tenant);
    const audit = auditTenant(tenant, { now: new Date(), context: this.#options.context() });
    if (!audit.settled) {
      log("manager").debug("audit: tenant {tenant} needs a reconcile: {reason}", {
        tenant: name,
        reason: audit.reason,
      });
      this.#queue(name, tenant);
      return;
    }
    const { planned, ...settled } = audit.tenant;
    const names: string[] = [];
    const items: LayoutItem[] = [];
    const keys: string[] = [];
    for (const item of planned) {
      const kind = observationKey(item.resource);
      const { shape, id } = this.#intern(kind, item.shape);
      const shared = item.resource.namespaced ? item.name : undefined;
      if (shared === undefined) names.push(item.name);
      items.push({ resource: item.resource, kind, name: shared, shape });
      keys.push(`${id}/${shared ?? ""}`);
    }
    const layout = this.#layout(keys.join("\n"), items);
    const at = this.#slab.reserve(planned.length);
    planned.forEach((item, i) => this.#slab.setDigest(at + i, digestBytes(item.content)));
    this.#awaiting.set(name, { ...settled, layout, names, at });
  }

  /**
   * Every Tenant was audited: when Gateways are served, a settled tenant whose gateway hosts
   * overlap an earlier claim is queued too (it was audited before every claim was known).
   */
  tenantsDone(): void {
    if (!hostClaimsMatter(this.#options.context().integrations)) return;
    for (const name of this.#awaiting.keys()) {
      if (this.#options.index.claimedBefore(name)) this.#queue(name);
    }
  }

  /**
   * Audits one listed object of `resource` (a namespace or a per-tenant kind): the tenant it
   * belongs to is queued when it differs from what its plan wants, is not usable as that object,
   * or is one of ours the plan no longer wants.
   */
  object(resource: ResourceDescriptor, object: KubeObjectBase): void {
    const owners = this.#options.index.tenantsFor(resource, object);
    if (owners === undefined) return;
    const name = object.metadata?.name ?? "";
    const isNamespace = resource.group === namespaces.group && resource.kind === namespaces.kind;
    const kind = observationKey(resource);
    for (const owner of owners) {
      if (this.#closed) {
        this.#options.queue(owner);
        continue;
      }
      const awaiting = this.#awaiting.get(owner);
      if (awaiting === undefined) continue;
      const item = itemIndex(awaiting, kind, name);
      if (item === undefined) {
        if (!isNamespace && wouldPrune(resource, object, awaiting)) this.#queue(owner);
        continue;
      }
      const content = observedContent(awaiting.layout.items[item], object, awaiting);
      const slot = awaiting.at + item;
      if (content !== undefined && this.#slab.matches(slot, digestBytes(content))) {
        this.#slab.setListed(slot);
      } else this.#queue(owner);
    }
  }

  /** Every object of `resource` was audited: a tenant still awaiting one of that kind is queued. */
  kindDone(resource: ResourceDescriptor): void {
    const kind = observationKey(resource);
    for (const [name, awaiting] of this.#awaiting) {
      const { items } = awaiting.layout;
      for (let i = 0; i < items.length; i++) {
        if (items[i].kind === kind && !this.#slab.listed(awaiting.at + i)) {
          this.#queue(name);
          break;
        }
      }
    }
  }

  /**
   * Ends the pass: a tenant still awaiting an object (of a kind never done, e.g. a watch that did
   * not deliver its initial state) is queued. Returns what the pass found.
   */
  close(): AuditSummary {
    this.#closed = true;
    for (const [name, awaiting] of this.#awaiting) {
      for (let i = 0; i < awaiting.layout.items.length; i++) {
        if (!this.#slab.listed(awaiting.at + i)) {
          this.#queue(name);
          break;
        }
      }
    }
    // A closed pass keeps nothing per tenant (whoever still holds it holds a few words).
    this.#awaiting.clear();
    this.#queued.clear();
    this.#slab = new Slab(0);
    this.#layouts.clear();
    this.#shapes.clear();
    this.#normalizers.clear();
    return this.summary;
  }

  /** Queues tenant `name` once per pass and stops awaiting its objects. */
  #queue(name: string, tenant?: Tenant): void {
    this.#awaiting.delete(name);
    if (this.#queued.has(name)) return;
    this.#queued.add(name);
    this.#queuedCount++;
    this.#options.queue(name, tenant);
  }

  /** One layout object per distinct layout in this pass. */
  #layout(key: string, items: LayoutItem[]): Layout {
    const known = this.#layouts.get(key);
    if (known !== undefined) return known;
    const layout = { items };
    this.#layouts.set(key, layout);
    return layout;
  }

  /** One shape object per distinct shape of a kind in this pass, and its number. */
  #intern(kind: string, shape: OwnedShape): { shape: OwnedShape; id: number } {
    let normalizer = 0;
    if (shape.normalize !== undefined) {
      normalizer = this.#normalizers.get(shape.normalize) ?? this.#normalizers.size + 1;
      this.#normalizers.set(shape.normalize, normalizer);
    }
    const key = JSON.stringify([
      kind,
      shape.labels,
      shape.annotations,
      shape.specFields,
      normalizer,
    ]);
    let interned = this.#shapes.get(key);
    if (interned === undefined) this.#shapes.set(key, interned = { shape, id: this.#shapes.size });
    return interned;
  }
}

/**
 * The index in `awaiting`'s layout of the item of `kind` named `name`, if its plan wants one
 * (names of their own: the namespace, cluster-scoped objects, in layout order).
 */
function itemIndex(awaiting: Awaiting, kind: string, name: string): number | undefined {
  const { items } = awaiting.layout;
  let own = 0;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const itemName = item.name ?? awaiting.names[own++];
    if (item.kind === kind && itemName === name) return i;
  }
  return undefined;
}
