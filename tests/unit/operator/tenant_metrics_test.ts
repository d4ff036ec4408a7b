// The operator's own metrics: tenants counted by condition, one series per tenant and condition that
// follows status and reason and leaves with the tenant, and watch restarts by cause.
import assert from "node:assert/strict";
import type { Condition } from "kubernetes-types/meta/v1.d.ts";
import type { WatchHealth, WatchRestartCause } from "../../../lib/client/mod.ts";
import { Registry } from "../../../lib/metrics/mod.ts";
import { TenantMetrics } from "../../../lib/operator/tenant_metrics.ts";
import { parseMetrics } from "../../support/operator_process.ts";

function conditions(ready: "True" | "False", reason: string): Condition[] {
  return [
    { type: "NamespaceReady", status: "True", reason: "NamespaceActive" },
    { type: "TenantReady", status: ready, reason },
  ].map((c) => ({ ...c, message: "", lastTransitionTime: "2025-01-01T00:00:00Z" }));
}

function series(registry: Registry, prefix: string): Record<string, number> {
  return Object.fromEntries(
    [...parseMetrics(registry.expose())].filter(([key]) => key.startsWith(prefix)),
  );
}

Deno.test("kleff_tenant_condition: one series per tenant and condition, replaced and removed", () => {
  const registry = new Registry();
  const metrics = new TenantMetrics(registry);
  metrics.tenantStatus("a", { conditions: conditions("False", "ApiError") });
  metrics.tenantStatus("b", { conditions: conditions("True", "Ready") });
  metrics.tenantStatus("a", { conditions: conditions("False", "NamespaceConflict") });
  assert.deepEqual(series(registry, "kleff_tenant_condition{"), {
    'kleff_tenant_condition{condition="NamespaceReady",reason="NamespaceActive",status="True",tenant="a"}':
      1,
    'kleff_tenant_condition{condition="TenantReady",reason="NamespaceConflict",status="False",tenant="a"}':
      1,
    'kleff_tenant_condition{condition="NamespaceReady",reason="NamespaceActive",status="True",tenant="b"}':
      1,
    'kleff_tenant_condition{condition="TenantReady",reason="Ready",status="True",tenant="b"}': 1,
  });
  assert.deepEqual(series(registry, "kleff_tenants{"), {
    'kleff_tenants{condition="NamespaceReady",status="True"}': 2,
    'kleff_tenants{condition="TenantReady",status="False"}': 1,
    'kleff_tenants{condition="TenantReady",status="True"}': 1,
  });
  metrics.tenantStatus("a", undefined);
  assert.deepEqual(Object.keys(series(registry, "kleff_tenant_condition{")), [
    'kleff_tenant_condition{condition="NamespaceReady",reason="NamespaceActive",status="True",tenant="b"}',
    'kleff_tenant_condition{condition="TenantReady",reason="Ready",status="True",tenant="b"}',
  ]);
  assert.equal(
    series(registry, "kleff_tenants{")['kleff_tenants{condition="TenantReady",status="False"}'],
    0,
  );
});

Deno.test("kleff_tenant_condition: tenants with the same conditions share them, and one's change leaves the other's series alone", () => {
  const registry = new Registry();
  const metrics = new TenantMetrics(registry);
  const ready = { conditions: conditions("True", "Ready") };
  const tenantSeries = (tenant: string) =>
    Object.keys(series(registry, "kleff_tenant_condition{"))
      .filter((key) => key.includes(`tenant="${tenant}"`));
  metrics.tenantStatus("a", ready);
  metrics.tenantStatus("b", ready);
  const before = tenantSeries("b");
  metrics.tenantStatus("a", { conditions: conditions("False", "ApiError") });
  assert.deepEqual(tenantSeries("b"), before);
  assert.ok(tenantSeries("a").some((key) => key.includes('reason="ApiError"')));
  metrics.tenantStatus("b", { conditions: conditions("False", "ApiError") });
  metrics.tenantStatus("a", ready);
  metrics.tenantStatus("b", ready);
  assert.deepEqual(tenantSeries("a"), before.map((key) => key.replace('"b"', '"a"')));
  assert.deepEqual(tenantSeries("b"), before);
  assert.deepEqual(series(registry, "kleff_tenants{"), {
    'kleff_tenants{condition="NamespaceReady",status="True"}': 2,
    'kleff_tenants{condition="TenantReady",status="False"}': 0,
    'kleff_tenants{condition="TenantReady",status="True"}': 2,
  });
});

/** A watch's health with `restarts` and the cause of the last one. */
function health(restarts: number, cause: WatchRestartCause): WatchHealth {
  return {
    synced: true,
    connected: true,
    lastEventAt: 0,
    restarts,
    lastRestartCause: cause,
    skipped: { oversize: 0, undecodable: 0 },
  };
}

Deno.test("kleff_watch_restarts_total counts each restart once, by its cause", () => {
  const registry = new Registry();
  const metrics = new TenantMetrics(registry);
  metrics.watchHealth("tenants", health(2, "expired"));
  metrics.watchHealth("tenants", health(2, "expired"));
  metrics.watchHealth("tenants", health(3, "inactive"));
  metrics.watchReplaced("tenants");
  metrics.watchHealth("tenants", health(1, "inactive"));
  assert.deepEqual(series(registry, "kleff_watch_restarts_total{"), {
    'kleff_watch_restarts_total{cause="expired",watch="tenants"}': 2,
    'kleff_watch_restarts_total{cause="inactive",watch="tenants"}': 2,
  });
});
