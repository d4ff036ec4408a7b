// What the operator remembers about tenants between reconciles, as names only (no objects): each
// tenant's uid, to map an event on a managed object to its tenant, and which tenants wait for a
// namespace another tenant holds, to wake them when that namespace changes.
import { TENANT_LABEL, TENANT_UID_ANNOTATION, type TenantStatus } from "../api/mod.ts";
import type { KubeObjectBase } from "../client/mod.ts";
import { waitsForNamespace } from "../reconcile/mod.ts";

/** Tenant names and uids from the Tenant watch, and the NamespaceConflict waiters. */
export class TenantIndex {
  /** Tenant name -> uid and uid -> name. */
  readonly #uids = new Map<string, string>();
  readonly #names = new Map<string, string>();
  /** Namespace name -> tenants in NamespaceConflict over it, and the reverse. */
  readonly #waiters = new Map<string, Set<string>>();
  readonly #waitingOn = new Map<string, string>();

  /** Every known tenant name. */
  names(): IterableIterator<string> {
    return this.#uids.keys();
  }

  /** How many tenants are known. */
  get size(): number {
    return this.#uids.size;
  }

  /** Records a tenant's uid (`undefined`: the tenant is gone). */
  track(name: string, uid: string | undefined): void {
    const previous = this.#uids.get(name);
    if (previous !== undefined && previous !== uid) this.#names.delete(previous);
    if (uid === undefined) {
      this.#uids.delete(name);
      return;
    }
    this.#uids.set(name, uid);
    this.#names.set(uid, name);
  }

  /**
   * The tenant a managed object belongs to: its `kleff.io/tenant` label, or, when someone
   * removed that, the tenant whose uid its `kleff.io/tenant-uid` annotation names.
   */
  ownerOf(object: KubeObjectBase): string | undefined {
    const metadata = object.metadata;
    return metadata?.labels?.[TENANT_LABEL] ??
      this.#names.get(metadata?.annotations?.[TENANT_UID_ANNOTATION] ?? "");
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
      const waiters = this.#waiters.get(previous);
      waiters?.delete(tenant);
      if (waiters?.size === 0) this.#waiters.delete(previous);
      this.#waitingOn.delete(tenant);
    }
    if (next !== undefined) {
      let waiters = this.#waiters.get(next);
      if (!waiters) this.#waiters.set(next, waiters = new Set());
      waiters.add(tenant);
      this.#waitingOn.set(tenant, next);
    }
  }

  /** The tenants waiting for namespace `name` (see {@linkcode noteStatus}). */
  waitersOf(name: string): Iterable<string> {
    return this.#waiters.get(name) ?? [];
  }
}
