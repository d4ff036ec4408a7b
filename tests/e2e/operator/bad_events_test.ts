// Watch events the operator cannot take (a line past the limit, a line that is not JSON): each is
// skipped with a log line, a count in kleff_watch_events_skipped_total and a relist, so the watch
// never stalls, readiness recovers and later tenants are reconciled; Events written through 429
// bursts all land; a blocked teardown names what holds the namespace.
import assert from "node:assert/strict";
import type { ConfigMap, Event } from "kubernetes-types/core/v1.d.ts";
import { configMaps, events } from "../../../lib/client/mod.ts";
import { devOnly, OperatorEnv } from "../../support/operator_env.ts";
import { eventually } from "../../support/wait.ts";

const spec = (userId: string) => ({ plan: "basic", userId, username: userId });

for (const kind of ["oversize", "undecodable"] as const) {
  Deno.test({
    name: `an ${kind} Tenant event is skipped, counted and relisted; the watch goes on`,
    ...devOnly("corrupted watch events (fault injection)"),
  }, async () => {
    await using env = await OperatorEnv.start({
      operator: false,
      server: { bookmarkIntervalMs: 200 },
    });
    env.startOperator({
      watchTimings: {
        inactivityTimeoutMs: 2000,
        initialEventsTimeoutMs: 1000,
        backoff: { initialMs: 50, maxMs: 200 },
      },
    });
    await eventually("ready", () => env.manager!.readiness().ready);
    env.server.faults.corruptWatchEvents({ kind, resource: "tenants" });
    await env.createTenant("first", spec("user-first"));
    await eventually(
      "a skipped event counted",
      () => env.metric("kleff_watch_events_skipped_total") >= 1,
    );
    assert.equal(
      env.metric(`kleff_watch_events_skipped_total{reason="${kind}",watch="tenants"}`),
      1,
    );
    // The relist brought the tenant the skipped event was about.
    await env.waitForCondition("first", "TenantReady", "True");
    await env.createTenant("second", spec("user-second"));
    await env.waitForCondition("second", "TenantReady", "True");
    await eventually("ready again", () => env.manager!.readiness().ready);
  });
}

Deno.test({
  name: "Events written during a 429 burst are retried off the reconcile and all land",
  ...devOnly("fault injection"),
}, async () => {
  await using env = await OperatorEnv.start();
  env.server.faults.failNext({
    status: 429,
    count: 12,
    verb: "create",
    resource: "events",
    retryAfterSeconds: 0,
  });
  await env.createTenant("throttled", spec("user-throttled"));
  await env.waitForCondition("throttled", "TenantReady", "True");
  // Without faults a new tenant gets four Events; here some of them wait out a backoff first.
  const written = await eventually("every Event landed", async () => {
    const list = await env.client.resource<Event>(events).list({ namespace: "default" });
    const mine = list.items.filter((event) => event.involvedObject?.name === "throttled");
    return mine.length >= 4 ? mine : undefined;
  }, 20_000);
  assert.ok(written.some((event) => event.reason === "Ready"), "the Ready Event landed");
  assert.ok(env.server.counters.count({ verb: "create", resource: "events", code: 429 }) > 0);
  assert.equal(env.metric("kleff_events_dropped_total"), 0);
});

Deno.test("a teardown blocked by a finalizer says which finalizer and which objects hold the namespace", async () => {
  await using env = await OperatorEnv.start();
  await env.createTenant("held", spec("user-held"));
  await env.waitForCondition("held", "TenantReady", "True");
  await env.client.resource<ConfigMap>(configMaps).create({
    metadata: { name: "hold", namespace: "user-held", finalizers: ["example.com/hold"] },
  });
  await env.tenants.delete("held");
  const condition = await env.waitForCondition("held", "TenantReady", "False", "Terminating");
  const message = await eventually("the message names the holders", async () => {
    const now = await env.condition("held", "TenantReady");
    return /example\.com\/hold/.test(now?.message ?? "") ? now!.message! : undefined;
  });
  assert.ok(condition);
  assert.match(message, /namespace user-held is being deleted/);
  assert.match(message, /Some resources are remaining: configmaps\. has 1 resource instances/);
  assert.match(
    message,
    /Some content in the namespace has finalizers remaining: example\.com\/hold in 1 resource instances/,
  );
  await env.client.resource<ConfigMap>(configMaps).patch(
    "hold",
    { metadata: { finalizers: null } },
    {
      namespace: "user-held",
      type: "merge",
    },
  );
  await env.waitForTenantGone("held");
});
