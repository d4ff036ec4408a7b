// Found by the chaos run (seed 7, 20 s): a tenant refused its namespace because another
// tenant owned it does not notice when that owner is deleted and the namespace freed; it
// stays NamespaceConflict (status claims a conflict with a namespace that no longer exists)
// until its 60 s conflict requeue.
import assert from "node:assert/strict";
import { OperatorEnv } from "../support/operator_env.ts";

Deno.test("a tenant waiting on a namespace owned by another gets it soon after the owner goes", async () => {
  await using env = await OperatorEnv.start();
  await env.createTenant("first", { userId: "shared", username: "first", plan: "free" });
  await env.waitForCondition("first", "TenantReady", "True");
  await env.createTenant("second", { userId: "shared", username: "second", plan: "free" });
  await env.waitForCondition("second", "NamespaceReady", "False", "NamespaceConflict");
  await env.tenants.delete("first");
  await env.waitForTenantGone("first");
  const ready = await env.waitForCondition("second", "TenantReady", "True", undefined, 15_000);
  assert.equal(ready.status, "True");
  const namespace = await env.namespace("shared");
  assert.equal(namespace?.metadata?.labels?.["kleff.io/tenant"], "second");
});
