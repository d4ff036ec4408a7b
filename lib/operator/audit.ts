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
  observationKey,
  observedContent,
  type OwnedShape,
  type PlanContext,
  type SettledTenant,
  wouldPrune,
} from "../reconcile/mod.ts";
import { OBJECT_NAME_PREFIX } from "../api/mod.ts";
import { log } from "../log.ts";
import { digest } from "../digest.ts";
import type { TenantIndex } from "./tenant_index.ts";

/** One object a settled tenant must have, as a digest of what it must hold. */
interface Expected {
  /** Its kind. */
  resource: ResourceDescriptor;
  /** `observationKey` of its kind. */
  kind: string;
  /** Its name. */
  name: string;
  /** What is compared. */
  shape: OwnedShape;
  /** Digest of the owned content it must have. */
  digest: string;
  /** Whether it was listed, as it must be. */
  seen: boolean;
}

/** A settled tenant while its objects are awaited. */
interface Awaiting extends Pick<SettledTenant, "name" | "uid" | "namespace" | "namespaceUID"> {
  /** Its namespace and planned objects. */
  expected: Expected[];
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
  /** Interned shapes: one object per distinct shape in this pass. */
  readonly #shapes = new Map<string, OwnedShape>();
  readonly #normalizers = new Map<unknown, number>();
  readonly #queued = new Set<string>();
  #tenants = 0;
  /** Set by {@linkcode close}: whatever comes later is queued without a comparison. */
  #closed = false;

  /** A pass with nothing audited yet. */
  constructor(options: AuditOptions) {
    this.#options = options;
  }

  /** What the pass found so far. */
  get summary(): AuditSummary {
    return { tenants: this.#tenants, queued: this.#queued.size };
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
    const expected: Expected[] = [];
    for (const item of planned) {
      const kind = observationKey(item.resource);
      expected.push({
        resource: item.resource,
        kind,
        name: item.name,
        shape: this.#intern(kind, item.shape),
        digest: digest(item.content),
        seen: false,
      });
    }
    this.#awaiting.set(name, { ...settled, expected });
  }

  /**
   * Every Tenant was audited: when Gateways are served, a settled tenant whose gateway hosts
   * overlap an earlier claim is queued too (it was audited before every claim was known).
   */
  tenantsDone(): void {
    // Host claims decide only whether a tenant gets its Gateway.
    if (this.#options.context().integrations.gateway === undefined) return;
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
    const name = object.metadata?.name ?? "";
    const namespace = object.metadata?.namespace ?? "";
    const isNamespace = resource.group === namespaces.group && resource.kind === namespaces.kind;
    if (!isNamespace && resource.namespaced && !name.startsWith(OBJECT_NAME_PREFIX)) return;
    const { index } = this.#options;
    const owners = isNamespace
      ? [...index.tenantsIn(name)]
      : resource.namespaced
      ? [...index.tenantsIn(namespace)]
      : [index.ownerOf(object)].filter((owner): owner is string => owner !== undefined);
    const kind = observationKey(resource);
    for (const owner of owners) {
      if (this.#closed) {
        this.#options.queue(owner);
        continue;
      }
      const awaiting = this.#awaiting.get(owner);
      if (awaiting === undefined) continue;
      const expected = awaiting.expected.find((item) => item.kind === kind && item.name === name);
      if (expected === undefined) {
        if (!isNamespace && wouldPrune(resource, object, awaiting)) this.#queue(owner);
        continue;
      }
      const content = observedContent(expected, object, awaiting);
      if (content !== undefined && digest(content) === expected.digest) {
        expected.seen = true;
      } else this.#queue(owner);
    }
  }

  /** Every object of `resource` was audited: a tenant still awaiting one of that kind is queued. */
  kindDone(resource: ResourceDescriptor): void {
    const kind = observationKey(resource);
    for (const [name, awaiting] of this.#awaiting) {
      if (awaiting.expected.some((item) => item.kind === kind && !item.seen)) this.#queue(name);
    }
  }

  /**
   * Ends the pass: a tenant still awaiting an object (of a kind never done, e.g. a watch that did
   * not deliver its initial state) is queued. Returns what the pass found.
   */
  close(): AuditSummary {
    this.#closed = true;
    for (const [name, awaiting] of this.#awaiting) {
      if (awaiting.expected.some((item) => !item.seen)) this.#queue(name);
    }
    this.#awaiting.clear();
    this.#shapes.clear();
    this.#normalizers.clear();
    return this.summary;
  }

  /** Queues tenant `name` once per pass and stops awaiting its objects. */
  #queue(name: string, tenant?: Tenant): void {
    this.#awaiting.delete(name);
    if (this.#queued.has(name)) return;
    this.#queued.add(name);
    this.#options.queue(name, tenant);
  }

  /** One shape object per distinct shape of a kind in this pass. */
  #intern(kind: string, shape: OwnedShape): OwnedShape {
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
    const known = this.#shapes.get(key);
    if (known !== undefined) return known;
    this.#shapes.set(key, shape);
    return shape;
  }
}
