// The cost of /metrics at scale: the operator's registry with 10,000 tenants reconciled, each
// with its four conditions as kleff_tenant_condition series (four series per tenant), exposed as
// Prometheus scrapes it. Prints the exposition's size, the time per scrape and the heap the
// per-tenant state takes.
import type { Condition } from "kubernetes-types/meta/v1.d.ts";
import { Registry } from "../lib/metrics/mod.ts";
import { TenantMetrics } from "../lib/operator/tenant_metrics.ts";

/** The conditions of a Ready tenant, as a reconcile reports them. */
function readyConditions(): Condition[] {
  return [
    ["NamespaceReady", "NamespaceActive"],
    ["ResourcesReady", "PlanApplied"],
    ["PoliciesReady", "PoliciesApplied"],
    ["TenantReady", "Ready"],
  ].map(([type, reason]) => ({
    type,
    status: "True",
    reason,
    message: "",
    lastTransitionTime: "2025-01-01T00:00:00Z",
  }));
}

/** Prints the size and scrape time of /metrics with `tenants` tenants. */
export function benchMetrics(tenants: number): void {
  // `deno task bench` exposes V8's gc(): heap numbers without garbage.
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  gc();
  const heapBefore = Deno.memoryUsage().heapUsed;
  const registry = new Registry();
  const metrics = new TenantMetrics(registry);
  for (let i = 0; i < tenants; i++) {
    // A fresh object per tenant, as JSON from the API server would be.
    metrics.tenantStatus(`tenant-${i}`, {
      conditions: JSON.parse(JSON.stringify(readyConditions())),
    });
  }
  gc();
  const heapAfter = Deno.memoryUsage().heapUsed;
  let text = registry.expose();
  const rounds = 20;
  const started = performance.now();
  for (let i = 0; i < rounds; i++) text = registry.expose();
  const perScrape = (performance.now() - started) / rounds;
  const series = text.split("\n").filter((line) => line.startsWith("kleff_tenant_condition{"));
  console.log(
    `${tenants.toLocaleString("en-US")} tenants: ${series.length.toLocaleString("en-US")} ` +
      `kleff_tenant_condition series, /metrics ${(text.length / 2 ** 20).toFixed(1)} MiB, ` +
      `${perScrape.toFixed(0)} ms per scrape, per-tenant state ${
        ((heapAfter - heapBefore) / 2 ** 20).toFixed(1)
      } MiB of heap`,
  );
}
