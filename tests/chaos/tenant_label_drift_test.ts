// Found by the chaos run (seed 11, 2 min): removing the `kleff.io/tenant` label from a tenant
// namespace by hand is not repaired until the periodic resync (10 min by default), because the
// namespace watch maps events to their tenant through that very label.
import assert from "node:assert/strict";
import type { Namespace } from "kubernetes-types/core/v1.d.ts";
import { TENANT_LABEL } from "../../lib/api/mod.ts";
import { eventually, OperatorEnv } from "../support/operator_env.ts";

Deno.test("a tenant namespace stripped of its kleff.io/tenant label gets it back without a resync", async () => {
  await using env = await OperatorEnv.start();
  await env.createTenant("drift", { userId: "drift-ns", username: "drift", plan: "free" });
  await env.waitForCondition("drift", "TenantReady", "True");
  await env.namespaces.patch("drift-ns", { metadata: { labels: { [TENANT_LABEL]: null } } });
  const restored = await eventually("kleff.io/tenant label restored", async () => {
    const namespace: Namespace | undefined = await env.namespace("drift-ns");
    return namespace?.metadata?.labels?.[TENANT_LABEL];
  }, 10_000);
  assert.equal(restored, "drift");
});
