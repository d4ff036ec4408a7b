// Operations end to end: two operator processes with leader election against
// one dev API server, their probes, metrics and JSON logs.
import assert from "node:assert/strict";
import type { Lease } from "kubernetes-types/coordination/v1.d.ts";
import { leases } from "../../../lib/client/mod.ts";
import { devOnly, eventually, OperatorEnv } from "../../support/operator_env.ts";
import { OperatorProcess, parseMetrics } from "../../support/operator_process.ts";

const LEASE_MS = 2000;
const ELECTION = [
  "--leader-elect",
  "--leader-elect-lease-duration",
  `${LEASE_MS}ms`,
  "--leader-elect-renew-deadline",
  "1500ms",
  "--leader-elect-retry-period",
  "250ms",
  "--leader-elect-resource-namespace",
  "kleff-system",
  "--health-probe-bind-address",
  "127.0.0.1:0",
  "--metrics-bind-address",
  "127.0.0.1:0",
  "--metrics-secure=false",
];

async function metricsOf(operator: OperatorProcess): Promise<Map<string, number>> {
  const response = await operator.get("metrics", "/metrics");
  assert.equal(response.status, 200);
  return parseMetrics(await response.text());
}

function reconciles(metrics: Map<string, number>): number {
  return [...metrics].filter(([key]) => key.startsWith("controller_runtime_reconcile_total{"))
    .reduce((sum, [, value]) => sum + value, 0);
}

async function holder(env: OperatorEnv): Promise<string | undefined> {
  const lease = await env.client.resource<Lease>(leases).get("kleff-tenant-operator", {
    namespace: "kleff-system",
  });
  return lease.spec?.holderIdentity;
}

Deno.test("two replicas: one reconciles, SIGKILL hands over within the lease, SIGTERM releases", async () => {
  await using env = await OperatorEnv.start({ operator: false });
  const args = ["--kubeconfig", env.operatorKubeconfigPath, ...ELECTION];
  const a = new OperatorProcess(args);
  const processes = [a];
  try {
    await a.waitForLog(/^became leader/);
    const b = new OperatorProcess(args);
    processes.push(b);
    await eventually("standby ready", async () => (await b.get("health probes", "/readyz")).ok);
    for (let i = 0; i < 3; i++) {
      await env.createTenant(`a${i}`, { userId: `ns-a${i}`, username: "u", plan: "basic" });
    }
    for (let i = 0; i < 3; i++) await env.waitForCondition(`a${i}`, "TenantReady", "True");
    const metricsA = await eventually(
      "the leader's reconciles counted",
      async () => {
        const metrics = await metricsOf(a);
        return reconciles(metrics) >= 3 ? metrics : undefined;
      },
    );
    const metricsB = await metricsOf(b);
    assert.equal(reconciles(metricsB), 0, "the standby does not");
    assert.equal(metricsA.get('leader_election_master_status{name="kleff-tenant-operator"}'), 1);
    assert.equal(metricsB.get('leader_election_master_status{name="kleff-tenant-operator"}'), 0);
    assert.equal(metricsA.get('kleff_tenants{condition="TenantReady",status="True"}'), 3);
    assert.ok((metricsA.get('workqueue_adds_total{name="tenant"}') ?? 0) >= 3);
    assert.ok(
      [...metricsA.keys()].some((key) =>
        key.startsWith('rest_client_requests_total{code="200",host="127.0.0.1:') &&
        key.includes('method="GET"')
      ),
    );
    assert.ok(metricsA.has('controller_runtime_reconcile_time_seconds_count{controller="tenant"}'));
    assert.ok(metricsA.has('workqueue_depth{name="tenant"}'));

    a.kill("SIGKILL");
    await a.exited();
    const killedAt = Date.now();
    for (let i = 0; i < 3; i++) {
      await env.createTenant(`b${i}`, { userId: `ns-b${i}`, username: "u", plan: "free" });
    }
    await b.waitForLog(/^became leader/, 10_000);
    const takeover = Date.now() - killedAt;
    assert.ok(
      takeover < LEASE_MS + 1500,
      `standby took over ${takeover} ms after the kill (lease ${LEASE_MS} ms)`,
    );
    for (let i = 0; i < 3; i++) await env.waitForCondition(`b${i}`, "TenantReady", "True");

    b.kill("SIGTERM");
    assert.equal(await b.exited(), 0, "clean shutdown exits 0");
    assert.equal(await holder(env), "", "the lease is released on clean shutdown");
    const c = new OperatorProcess(args);
    processes.push(c);
    const released = Date.now();
    await c.waitForLog(/^became leader/);
    assert.ok(Date.now() - released < LEASE_MS + 3000, "a successor need not wait out the lease");
    for (const operator of [a, b]) {
      assert.deepEqual(operator.unparsed, [], "every log line is JSON");
      for (const line of operator.lines) {
        assert.ok(line["@timestamp"] && line.level && line.logger && line.message, line.message);
      }
      assert.ok(!operator.lines.some((line) => line.level === "ERROR" || line.level === "FATAL"));
    }
    assert.ok(
      b.lines.some((line) => line.properties?.tenant === "b0"),
      "reconcile lines carry the tenant name",
    );
  } finally {
    for (const operator of processes) operator.kill("SIGKILL");
    await Promise.all(processes.map((operator) => operator.exited()));
  }
});

Deno.test({
  name: "a replica that loses its lease stops reconciling and exits 1",
  ...devOnly("fault injection"),
}, async () => {
  await using env = await OperatorEnv.start({ operator: false });
  const a = new OperatorProcess(["--kubeconfig", env.operatorKubeconfigPath, ...ELECTION]);
  try {
    await a.waitForLog(/^became leader/);
    env.server.faults.failNext({ status: 503, resource: "leases", count: 1000 });
    await a.waitForLog(/^lost leadership/, 10_000);
    assert.equal(await a.exited(), 1);
  } finally {
    a.kill("SIGKILL");
    await a.exited();
  }
});

Deno.test({
  name: "/readyz is 503 before the watches sync, 200 after",
  ...devOnly("latency injection"),
}, async () => {
  await using env = await OperatorEnv.start({
    operator: false,
    server: { bookmarkIntervalMs: 100 },
  });
  const a = new OperatorProcess([
    "--kubeconfig",
    env.operatorKubeconfigPath,
    "--health-probe-bind-address",
    "127.0.0.1:0",
    "--metrics-bind-address",
    "0",
  ]);
  try {
    env.server.faults.setLatency(1500, { verb: "watch" });
    const early = await a.get("health probes", "/readyz");
    assert.equal(early.status, 503);
    assert.match(await early.text(), /not (synced|started)/);
    assert.equal((await a.get("health probes", "/healthz")).status, 200);
    env.server.faults.setLatency(0);
    await eventually("ready", async () => (await a.get("health probes", "/readyz")).ok, 15_000);
  } finally {
    a.kill("SIGTERM");
    assert.equal(await a.exited(), 0);
  }
});

Deno.test({
  name: "readiness turns false while a watch is wedged and recovers after",
  ...devOnly("stalled watches"),
}, async () => {
  await using env = await OperatorEnv.start({
    operator: false,
    server: { bookmarkIntervalMs: 50 },
  });
  env.startOperator({
    watchTimings: { inactivityTimeoutMs: 300, backoff: { initialMs: 50, maxMs: 200 } },
  });
  const manager = env.manager!;
  await eventually("ready", () => manager.readiness().ready);
  env.server.faults.stallWatches(true);
  const wedged = await eventually("not ready", () => {
    const readiness = manager.readiness();
    return readiness.ready ? undefined : readiness;
  });
  assert.match(wedged.detail, /watch silent for/);
  env.server.faults.stallWatches(false);
  await eventually("ready again", () => manager.readiness().ready);
});
