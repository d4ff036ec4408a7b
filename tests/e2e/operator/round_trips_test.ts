// End-to-end: the requests the operator makes. A new tenant is one reconcile that reads nothing
// (the echoes of its own writes cause none); drift by anyone else is reconciled at once; a restart
// or a resync lists each kind once, reconciles only the tenants that differ from their plan (what
// changed while the operator was down included) and writes nothing for the others; at start-up,
// pending tenants are reconciled while the watches still deliver their initial states (the whole
// Tenant initial state first only while Gateways are served).
import assert from "node:assert/strict";
import type { LimitRange, ResourceQuota } from "kubernetes-types/core/v1.d.ts";
import {
  type KubeObject,
  limitRanges,
  networkPolicies,
  type ResourceClient,
  resourceQuotas,
} from "../../../lib/client/mod.ts";
import { TENANT_FINALIZER } from "../../../lib/api/mod.ts";
import { eventually, OperatorEnv, sleep } from "../../support/operator_env.ts";
import { devOnly } from "../../support/test_apiserver.ts";

const spec = (i: number, plan = "basic") => ({ userId: `ns-${i}`, username: `u${i}`, plan });

/** Creates `count` tenants and waits until all are Ready and the operator is idle. */
async function readyTenants(env: OperatorEnv, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await env.createTenant(`t${i}`, spec(i));
  for (let i = 0; i < count; i++) await env.waitForCondition(`t${i}`, "TenantReady", "True");
  await env.settled();
}

/** What the quota controller writes after a pod change: the quota's usage, `pods` in use. */
function usage(pods: number): { status: ResourceQuota["status"] } {
  return { status: { hard: { pods: "20" }, used: { pods: String(pods) } } };
}

/** Someone raises ns-0's quota; resolves once the operator has put it back. */
async function driftQuota(quotas: ResourceClient<ResourceQuota>): Promise<void> {
  await quotas.patch("kleff-quota", { spec: { hard: { pods: "1000" } } }, { namespace: "ns-0" });
  await eventually(
    "the quota restored",
    async () => (await quotas.get("kleff-quota", { namespace: "ns-0" })).spec?.hard?.pods === "20",
  );
}

Deno.test("new tenants: one reconcile each, nothing read, no reconcile for their echoes", async () => {
  await using env = await OperatorEnv.start();
  // Every watch started (its initial list counted before the reset, on a server without
  // streaming lists).
  await eventually("the start-up audit", () => env.manager!.audits.count === 1);
  await env.settled();
  env.counters.reset();
  for (let i = 0; i < 5; i++) await env.createTenant(`t${i}`, spec(i));
  await env.settled({ reconcilesAfter: 4 });
  const snapshot = JSON.stringify(env.counters.snapshot());
  assert.equal(env.reconciles(), 5, snapshot);
  assert.equal(env.reads(), 0, snapshot);
  // Per tenant: finalizer with the claim, namespace, quota, limits, isolation, status.
  assert.equal(env.writes() - env.writes("events") - 5, 5 * 6, snapshot);
  for (let i = 0; i < 5; i++) {
    assert.equal((await env.condition(`t${i}`, "TenantReady"))?.status, "True");
  }
});

Deno.test("tenants sharing a user name: a new one reconciles only itself, however many came before", async () => {
  await using env = await OperatorEnv.start();
  await eventually("the start-up audit", () => env.manager!.audits.count === 1);
  // Same user name, so the same gateway hosts: only the earliest would get them.
  const shared = (i: number) => ({ userId: `ns-${i}`, username: "same", plan: "basic" });
  for (let i = 0; i < 4; i++) await env.createTenant(`t${i}`, shared(i));
  for (let i = 0; i < 4; i++) await env.waitForCondition(`t${i}`, "TenantReady", "True");
  await env.settled();
  const before = env.reconciles();
  env.counters.reset();
  await env.createTenant("t4", shared(4));
  await env.settled({ reconcilesAfter: before });
  const snapshot = JSON.stringify(env.counters.snapshot());
  assert.equal(env.reconciles(), before + 1, snapshot);
  assert.equal(env.reads(), 0, snapshot);
  // Deleting the earliest wakes the later ones (the next claimant may now get the hosts).
  const deleting = env.reconciles();
  await env.tenants.delete("t0");
  await env.waitForTenantGone("t0");
  await env.settled({ reconcilesAfter: deleting });
  assert.ok(env.reconciles() >= deleting + 1 + 4, "the teardown and the four later claimants");
});

Deno.test("drift by someone else is reconciled at once, and its restore causes no second reconcile", async () => {
  await using env = await OperatorEnv.start();
  await readyTenants(env, 2);
  const quotas = env.client.resource<ResourceQuota>(resourceQuotas);
  const before = env.reconciles();
  await driftQuota(quotas);
  await env.settled({ reconcilesAfter: before });
  assert.equal(env.reconciles(), before + 1, "one reconcile, of the tenant whose quota drifted");

  const plan = env.reconciles();
  await env.tenants.patch("t1", { spec: { plan: "pro" } });
  await eventually(
    "the plan applied",
    async () => (await quotas.get("kleff-quota", { namespace: "ns-1" })).spec?.hard?.pods === "100",
  );
  await env.settled({ reconcilesAfter: plan });
  assert.equal(env.reconciles(), plan + 1, "one reconcile for the edit of the Tenant");
});

Deno.test("a change of nothing but an object's status queues nothing; a change of its spec does", async () => {
  await using env = await OperatorEnv.start();
  await readyTenants(env, 2);
  const quotas = env.client.resource<ResourceQuota>(resourceQuotas);
  const before = env.reconciles();
  // As the quota controller does after every pod change in the namespace.
  for (let pods = 1; pods <= 5; pods++) {
    await quotas.patchStatus("kleff-quota", usage(pods), { namespace: "ns-0" });
  }
  await env.settled();
  assert.equal(env.reconciles(), before, "status changes wake nobody");
  await driftQuota(quotas);
  await env.settled({ reconcilesAfter: before });
  assert.equal(env.reconciles(), before + 1);
  // A label someone else adds is a change too (it is not the status).
  await quotas.patch("kleff-quota", { metadata: { labels: { team: "x" } } }, { namespace: "ns-0" });
  await env.settled({ reconcilesAfter: before + 1 });
  assert.equal(env.reconciles(), before + 2);
});

Deno.test("after a restart, a change of nothing but the status of an object from before it queues nothing", async () => {
  await using env = await OperatorEnv.start();
  await readyTenants(env, 2);
  const quotas = env.client.resource<ResourceQuota>(resourceQuotas);
  // The quota controller has written the status before the restart.
  await quotas.patchStatus("kleff-quota", usage(1), { namespace: "ns-0" });
  await env.settled();
  await env.stopOperator();
  env.startOperator();
  await eventually("the start-up audit", () => env.manager!.audits.count === 1);
  await env.settled();
  const before = env.reconciles();
  // Its first write after the restart, then more.
  for (let pods = 2; pods <= 4; pods++) {
    await quotas.patchStatus("kleff-quota", usage(pods), { namespace: "ns-0" });
  }
  await env.settled();
  assert.equal(env.reconciles(), before, "status changes wake nobody after a restart");
  // Drift is still seen.
  await driftQuota(quotas);
  await env.settled({ reconcilesAfter: before });
  assert.equal(env.reconciles(), before + 1);
});

Deno.test("a restart reconciles exactly the tenants changed while the operator was down", async () => {
  await using env = await OperatorEnv.start();
  await readyTenants(env, 7);
  await env.stopOperator();
  const quotas = env.client.resource<ResourceQuota>(resourceQuotas);
  const limits = env.client.resource<LimitRange>(limitRanges);
  const policies = env.client.resource<KubeObject>(networkPolicies);
  // t0: a quota raised; t1: a label stripped (out of the watch's selection); t2: the isolation
  // deleted; t3: a namespace label changed; t4: a plan changed; t5: the status edited; t6: as is.
  await quotas.patch("kleff-quota", { spec: { hard: { pods: "1000" } } }, { namespace: "ns-0" });
  await limits.patch("kleff-limits", {
    metadata: { labels: { "app.kubernetes.io/managed-by": null } },
  }, { namespace: "ns-1" });
  await policies.delete("kleff-isolation", { namespace: "ns-2" });
  await env.namespaces.patch("ns-3", {
    metadata: { labels: { "pod-security.kubernetes.io/enforce": "privileged" } },
  });
  await env.tenants.patch("t4", { spec: { plan: "free" } });
  await env.tenants.patchStatus("t5", { status: { quota: "pods=1000" } });
  env.counters.reset();
  env.startOperator();
  await eventually("the start-up audit", () => env.manager!.audits.count === 1);
  await env.settled({ reconcilesAfter: 5 });
  assert.deepEqual(env.manager!.audits.last, { tenants: 7, queued: 6 });
  assert.equal(env.reconciles(), 6, JSON.stringify(env.counters.snapshot()));
  assert.equal((await quotas.get("kleff-quota", { namespace: "ns-0" })).spec?.hard?.pods, "20");
  const restored = await limits.get("kleff-limits", { namespace: "ns-1" });
  assert.equal(
    restored.metadata?.labels?.["app.kubernetes.io/managed-by"],
    "kleff-tenant-operator",
  );
  assert.ok(await policies.get("kleff-isolation", { namespace: "ns-2" }));
  const namespace = await env.namespaces.get("ns-3");
  assert.equal(namespace.metadata?.labels?.["pod-security.kubernetes.io/enforce"], "baseline");
  assert.equal((await quotas.get("kleff-quota", { namespace: "ns-4" })).spec?.hard?.pods, "4");
  assert.notEqual((await env.tenants.get("t5")).status?.quota, "pods=1000");
});

Deno.test("a resync lists each kind once, writes nothing and reconciles no settled tenant", async () => {
  await using env = await OperatorEnv.start();
  await readyTenants(env, 3);
  await env.stopOperator();
  env.startOperator({ resyncPeriodMs: 300 });
  await eventually("the start-up audit", () => env.manager!.audits.count >= 1);
  await env.settled();
  env.counters.reset();
  const start = env.manager!.audits.count;
  await eventually("two resyncs", () => env.manager!.audits.count >= start + 2);
  // Read together, in one turn of the event loop: the passes finished and what they listed (a
  // pass under way may have listed some of its kinds already).
  const passes = env.manager!.audits.count - start;
  const lists = env.counters.count({ verb: "list" });
  const snapshot = JSON.stringify(env.counters.snapshot());
  // Tenants, Namespaces, quotas, limits, isolation: one page each at this size.
  assert.ok(lists >= 5 * passes && lists < 5 * (passes + 1), snapshot);
  assert.equal(env.counters.count({ verb: "get", resource: "tenants" }), 0, snapshot);
  assert.equal(env.writes(), 0, snapshot);
  assert.equal(env.reconciles(), 0, snapshot);
  assert.equal(env.manager!.audits.last?.queued, 0);
});

Deno.test({
  name: "a finalizer someone adds while the operator's finalizer patch is on its way is kept",
  ...devOnly("latency injection"),
}, async () => {
  await using env = await OperatorEnv.start();
  await env.settled();
  // The finalizer patch waits 400 ms at the server.
  env.server.faults.setLatency(400, { verb: "patch", resource: "tenants" });
  const requeues = () =>
    env.metric('controller_runtime_reconcile_total{controller="tenant",result="requeue"}');
  const before = requeues();
  await env.createTenant("t", spec(0));
  await eventually("the finalizer patch sent", () => env.server.faults.delayed === 1);
  const read = await env.tenants.get("t");
  read.metadata!.finalizers = [...read.metadata!.finalizers ?? [], "other.io/keep"];
  await env.tenants.replace(read);
  await env.waitForCondition("t", "TenantReady", "True");
  env.server.faults.setLatency(0);
  await env.settled();
  const tenant = await env.tenants.get("t");
  assert.deepEqual(
    [...tenant.metadata?.finalizers ?? []].sort(),
    [TENANT_FINALIZER, "other.io/keep"].sort(),
  );
  // The refused patch was a stale view, retried at once: no ApiError on the way.
  assert.ok(env.counters.count({ verb: "patch", resource: "tenants", code: 422 }) >= 1);
  assert.ok(requeues() > before);
  assert.equal(env.metric("controller_runtime_reconcile_errors_total"), 0);
});

Deno.test({
  name:
    "a new tenant is reconciled once the Tenant watch has started, while the other watches still list",
  ...devOnly("latency injection"),
}, async () => {
  await using env = await OperatorEnv.start({ operator: false });
  await env.createTenant("waiting", spec(0));
  // The namespace watch (the first after the Tenant watch) answers only after 3 s.
  env.server.faults.setLatency(3000, { verb: "watch", resource: "namespaces" });
  env.startOperator();
  await env.waitForCondition("waiting", "TenantReady", "True");
  assert.equal(env.server.faults.delayed, 1, "the namespace watch has not answered yet");
  assert.ok(!env.manager!.readiness().ready, "not ready: a watch has not synced");
  await eventually("every watch synced", () => env.manager!.readiness().ready, 10_000);
  await eventually("the start-up audit", () => env.manager!.audits.count === 1);
  await env.settled();
  env.server.faults.setLatency(0);
  assert.equal(env.reconciles(), 1, "the start-up audit found nothing more to do");
  assert.equal(env.metric("controller_runtime_reconcile_errors_total"), 0);
});

/**
 * Starts the operator with the Tenant watch's answers (its initial state included) slowed to about
 * a second per Tenant.
 */
function startWithSlowTenantWatch(env: OperatorEnv): void {
  env.server.faults.setTrickle({ bytesPerSecond: 600, verb: "watch", resource: "tenants" });
  env.startOperator({ watchTimings: { initialEventsTimeoutMs: 30_000 } });
}

Deno.test({
  name:
    "without Gateways, pending tenants are reconciled while the Tenant watch still streams its initial state",
  ...devOnly("trickled answers"),
}, async () => {
  await using env = await OperatorEnv.start({ operator: false });
  for (let i = 0; i < 4; i++) await env.createTenant(`t${i}`, spec(i));
  startWithSlowTenantWatch(env);
  await env.waitForCondition("t0", "TenantReady", "True");
  // The namespace watch starts once the Tenant watch has delivered its initial state.
  assert.equal(env.counters.count({ verb: "watch", resource: "namespaces" }), 0);
  assert.ok(!env.manager!.readiness().ready, "the Tenant watch has not synced yet");
  env.server.faults.setTrickle(undefined);
  for (let i = 0; i < 4; i++) await env.waitForCondition(`t${i}`, "TenantReady", "True");
});

Deno.test({
  name:
    "with Gateways served, start-up waits for every Tenant: an older one keeps its host though a younger one streams in first",
  ...devOnly("trickled answers"),
}, async () => {
  await using env = await OperatorEnv.start({ operator: false });
  await env.installIntegrationCrds();
  await env.createTenant("zulu", { userId: "ns-zulu", username: "alice", plan: "basic" });
  // Creation times are in seconds: the next Tenant is younger.
  await sleep(1100);
  await env.createTenant("alpha", { userId: "ns-alpha", username: "alice", plan: "basic" });
  // The initial state comes in name order (alpha first).
  startWithSlowTenantWatch(env);
  const conflict = await env.waitForCondition("alpha", "PoliciesReady", "False", "HostConflict");
  assert.match(conflict.message ?? "", /of Tenant zulu, which claimed it first/);
  env.server.faults.setTrickle(undefined);
  await env.waitForCondition("zulu", "TenantReady", "True");
});
