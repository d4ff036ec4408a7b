// Operator-specific metrics next to controller-runtime's: how many tenants
// stand in each condition status, each tenant's conditions (kube-state-metrics
// style, so that an alert can name the tenant), why watches restarted and which
// events they skipped. Kept as a few shared strings per tenant name, never as
// cached objects.
import type { TenantStatus } from "../api/mod.ts";
import type { WatchHealth } from "../client/mod.ts";
import {
  Counter,
  escapeLabelValue,
  formatLabels,
  Gauge,
  type Metric,
  type Registry,
} from "../metrics/mod.ts";

/** One condition state (type, status, reason) with its label text, shared by every tenant in it. */
interface ConditionState {
  condition: string;
  status: string;
  reason: string;
  /** `condition`, `status` and `reason` on lines of their own: its key in the states. */
  key: string;
  /** `condition="…",reason="…",status="…"`: the labels before `tenant` in sorted order. */
  labels: string;
  /** Tenants in this state; the state is forgotten at 0, so only live states are kept. */
  tenants: number;
}

/**
 * The states of one tenant's conditions, shared by every tenant whose conditions are the same
 * (nearly all of them are Ready), so a tenant costs one map entry.
 */
interface Conditions {
  states: readonly ConditionState[];
  /** `key`s of `states`, tab-separated: its key among the combinations. */
  key: string;
  /** Tenants with these conditions; forgotten at 0. */
  tenants: number;
}

/**
 * `kleff_tenant_condition{condition,reason,status,tenant} 1`: one series per tenant and condition
 * type, exposed straight from the per-tenant states (no copy per series), since it is by far the
 * largest family: four series per tenant.
 */
class TenantConditionFamily implements Metric {
  readonly name = "kleff_tenant_condition";

  /** Exposes the states of `byTenant`. */
  constructor(readonly byTenant: ReadonlyMap<string, Conditions>) {}

  /** Text exposition of one series per tenant and condition. */
  expose(): string {
    const lines = [
      `# HELP ${this.name} Conditions of each tenant, as last reconciled: 1 per tenant and condition type`,
      `# TYPE ${this.name} gauge`,
    ];
    for (const [tenant, { states }] of this.byTenant) {
      const name = escapeLabelValue(tenant);
      for (const state of states) lines.push(`${this.name}{${state.labels},tenant="${name}"} 1`);
    }
    return lines.join("\n");
  }
}

/**
 * Tracks `kleff_tenants{condition,status}`, `kleff_tenant_condition{tenant,condition,status,reason}`,
 * `kleff_watch_restarts_total{watch,cause}` and `kleff_watch_events_skipped_total{watch,reason}`.
 *
 * `kleff_tenant_condition` has one series per tenant and condition type (four per tenant), always
 * 1; a change of status or reason replaces the series. Its cardinality is bounded by the number of
 * Tenants, and its label values by the condition vocabulary of lib/api.
 */
export class TenantMetrics {
  readonly #tenants: Gauge;
  readonly #restarts: Counter;
  readonly #byTenant = new Map<string, Conditions>();
  readonly #states = new Map<string, ConditionState>();
  readonly #combinations = new Map<string, Conditions>();
  readonly #skipped: Counter;
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
    registry.register(new TenantConditionFamily(this.#byTenant));
    this.#skipped = registry.register(
      new Counter(
        "kleff_watch_events_skipped_total",
        "Watch events skipped (then a relist) by watch and reason: oversize or undecodable",
      ),
    );
  }

  /** Records a tenant's status after a reconcile (`undefined`: the tenant is gone). */
  tenantStatus(name: string, status: TenantStatus | undefined): void {
    const states = (status?.conditions ?? []).map((c) =>
      this.#state(c.type, c.status, c.reason ?? "")
    );
    for (const state of states) this.#add(state, 1);
    const previous = this.#byTenant.get(name);
    for (const state of previous?.states ?? []) this.#add(state, -1);
    if (previous !== undefined && --previous.tenants === 0) {
      this.#combinations.delete(previous.key);
    }
    if (status === undefined) {
      this.#byTenant.delete(name);
      return;
    }
    const key = states.map((state) => state.key).join("\t");
    let next = this.#combinations.get(key);
    if (next === undefined) {
      next = { states, key, tenants: 0 };
      this.#combinations.set(key, next);
    }
    next.tenants++;
    this.#byTenant.set(name, next);
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

  /** The shared state object of a condition type, status and reason. */
  #state(condition: string, status: string, reason: string): ConditionState {
    const key = `${condition}\n${status}\n${reason}`;
    let state = this.#states.get(key);
    if (state === undefined) {
      const labels = formatLabels({ condition, reason, status }).slice(1, -1);
      state = { condition, status, reason, key, labels, tenants: 0 };
      this.#states.set(key, state);
    }
    return state;
  }

  #add(state: ConditionState, by: number): void {
    this.#tenants.add({ condition: state.condition, status: state.status }, by);
    state.tenants += by;
    if (state.tenants === 0) this.#states.delete(state.key);
  }
}
