// Operator-specific metrics next to controller-runtime's: how many tenants
// stand in each condition status, why watches restarted and which events they
// skipped. Kept as small counts per tenant name, never as cached objects.
import type { TenantStatus } from "../api/mod.ts";
import type { WatchHealth } from "../client/mod.ts";
import { Counter, Gauge, type Registry } from "../metrics/mod.ts";

/**
 * Tracks `kleff_tenants{condition,status}`, `kleff_watch_restarts_total{watch,cause}` and
 * `kleff_watch_events_skipped_total{watch,reason}`.
 */
export class TenantMetrics {
  readonly #tenants: Gauge;
  readonly #restarts: Counter;
  readonly #skipped: Counter;
  readonly #byTenant = new Map<string, string[]>();
  readonly #restartsSeen = new Map<string, number>();
  readonly #skippedSeen = new Map<string, WatchHealth["skipped"]>();

  /** Registers the families in `registry`. */
  constructor(registry: Registry) {
    this.#tenants = registry.register(
      new Gauge("kleff_tenants", "Tenants by condition type and status, as last reconciled"),
    );
    this.#restarts = registry.register(
      new Counter("kleff_watch_restarts_total", "Watch restarts by watch and cause"),
    );
    this.#skipped = registry.register(
      new Counter(
        "kleff_watch_events_skipped_total",
        "Watch events skipped (then a relist) by watch and reason: oversize or undecodable",
      ),
    );
  }

  /** Records a tenant's status after a reconcile (`undefined`: the tenant is gone). */
  tenantStatus(name: string, status: TenantStatus | undefined): void {
    const next = (status?.conditions ?? []).map((c) => `${c.type}\n${c.status}`);
    for (const key of this.#byTenant.get(name) ?? []) this.#add(key, -1);
    if (status === undefined) this.#byTenant.delete(name);
    else this.#byTenant.set(name, next);
    for (const key of next) this.#add(key, 1);
  }

  /** Notes that `watch` was replaced by a new watch object, which counts its restarts from 0. */
  watchReplaced(watch: string): void {
    this.#restartsSeen.delete(watch);
    this.#skippedSeen.delete(watch);
  }

  /** Counts the restarts a watch reported since its last health update. */
  watchHealth(watch: string, health: WatchHealth): void {
    const seen = this.#restartsSeen.get(watch) ?? 0;
    if (health.restarts > seen) {
      this.#restarts.inc(
        { watch, cause: health.lastRestartCause ?? "closed" },
        health.restarts - seen,
      );
    }
    this.#restartsSeen.set(watch, health.restarts);
    const skippedBefore = this.#skippedSeen.get(watch);
    for (const [reason, count] of Object.entries(health.skipped)) {
      const before = skippedBefore?.[reason as keyof WatchHealth["skipped"]] ?? 0;
      if (count > before) this.#skipped.inc({ watch, reason }, count - before);
    }
    this.#skippedSeen.set(watch, { ...health.skipped });
  }

  #add(key: string, by: number): void {
    const [condition, status] = key.split("\n");
    this.#tenants.add({ condition, status }, by);
  }
}
