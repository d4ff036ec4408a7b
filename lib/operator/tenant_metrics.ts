// Operator-specific metrics next to controller-runtime's: how many tenants
// stand in each condition status, each tenant's conditions (kube-state-metrics
// style, so that an alert can name the tenant), and why watches restarted.
// Kept as a few strings per tenant name, never as cached objects.
import type { TenantStatus } from "../api/mod.ts";
import type { WatchHealth } from "../client/mod.ts";
import { CollectedGauge, Counter, Gauge, type Registry, type Sample } from "../metrics/mod.ts";

/** One condition of a tenant as last reconciled: the labels of its `kleff_tenant_condition` series. */
interface TenantCondition {
  condition: string;
  status: string;
  reason: string;
}

/**
 * Tracks `kleff_tenants{condition,status}`, `kleff_tenant_condition{tenant,condition,status,reason}`
 * and `kleff_watch_restarts_total{watch,cause}`.
 *
 * `kleff_tenant_condition` has one series per tenant and condition type (four per tenant), always
 * 1; a change of status or reason replaces the series. Its cardinality is bounded by the number of
 * Tenants, and its label values by the condition vocabulary of lib/api.
 */
export class TenantMetrics {
  readonly #tenants: Gauge;
  readonly #restarts: Counter;
  readonly #byTenant = new Map<string, TenantCondition[]>();
  readonly #restartsSeen = new Map<string, number>();

  /** Registers the families in `registry`. */
  constructor(registry: Registry) {
    this.#tenants = registry.register(
      new Gauge("kleff_tenants", "Tenants by condition type and status, as last reconciled"),
    );
    this.#restarts = registry.register(
      new Counter("kleff_watch_restarts_total", "Watch restarts by watch and cause"),
    );
    registry.register(
      new CollectedGauge(
        "kleff_tenant_condition",
        "Conditions of each tenant, as last reconciled: 1 per tenant and condition type",
        () => this.#conditionSamples(),
      ),
    );
  }

  /** Records a tenant's status after a reconcile (`undefined`: the tenant is gone). */
  tenantStatus(name: string, status: TenantStatus | undefined): void {
    const next = (status?.conditions ?? []).map((c) => ({
      condition: c.type,
      status: c.status,
      reason: c.reason ?? "",
    }));
    for (const item of this.#byTenant.get(name) ?? []) this.#add(item, -1);
    if (status === undefined) this.#byTenant.delete(name);
    else this.#byTenant.set(name, next);
    for (const item of next) this.#add(item, 1);
  }

  /** Notes that `watch` was replaced by a new watch object, which counts its restarts from 0. */
  watchReplaced(watch: string): void {
    this.#restartsSeen.delete(watch);
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
  }

  #add(item: TenantCondition, by: number): void {
    this.#tenants.add({ condition: item.condition, status: item.status }, by);
  }

  *#conditionSamples(): Iterable<Sample> {
    for (const [tenant, conditions] of this.#byTenant) {
      for (const { condition, status, reason } of conditions) {
        yield { labels: { tenant, condition, status, reason }, value: 1 };
      }
    }
  }
}
