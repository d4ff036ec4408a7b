// The operator's own metrics: tenants counted by condition, one series per tenant and condition that
// follows status and reason and leaves with the tenant, and watch restarts by cause.
import assert from "node:assert/strict";
import type { Condition } from "kubernetes-types/meta/v1.d.ts";
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

Deno.test("kleff_watch_restarts_total counts each restart once, by its cause", () => {
  const registry = new Registry();
  const metrics = new TenantMetrics(registry);
  metrics.watchHealth("tenants", {
    synced: true,
    lastEventAt: 0,
    restarts: 2,
    lastRestartCause: "expired",
  });
  metrics.watchHealth("tenants", {
    synced: true,
    lastEventAt: 0,
    restarts: 2,
    lastRestartCause: "expired",
  });
  metrics.watchHealth("tenants", {
    synced: true,
    lastEventAt: 0,
    restarts: 3,
    lastRestartCause: "inactive",
  });
  metrics.watchReplaced("tenants");
  metrics.watchHealth("tenants", {
    synced: true,
    lastEventAt: 0,
    restarts: 1,
    lastRestartCause: "inactive",
  });
  assert.deepEqual(series(registry, "kleff_watch_restarts_total{"), {
    'kleff_watch_restarts_total{cause="expired",watch="tenants"}': 2,
    'kleff_watch_restarts_total{cause="inactive",watch="tenants"}': 2,
  });
});
