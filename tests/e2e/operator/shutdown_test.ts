// SIGTERM stops the operator process promptly whatever it is doing: start-up with a rejected token
// or an unreachable server, loading the plan ConfigMap, waiting as a leader-election standby, and
// a reconcile blocked on a slow server (the leader then releases its Lease). Each exit is waited
// for with a bound far below the 47 s it once took; the worst case is measured by the benchmarks
// and held to 2 s by the chaos run.
import assert from "node:assert/strict";
import type { Lease } from "kubernetes-types/coordination/v1.d.ts";
import { leases } from "../../../lib/client/mod.ts";
import { devOnly, OperatorEnv } from "../../support/operator_env.ts";
import { OperatorProcess } from "../../support/operator_process.ts";
import { eventually, within } from "../../support/wait.ts";

/** The bound each exit is waited for with. */
const EXIT_WAIT_MS = 5000;

const PROBES = ["--health-probe-bind-address", "127.0.0.1:0", "--metrics-bind-address", "0"];

async function terminate(operator: OperatorProcess, what: string): Promise<number> {
  operator.kill("SIGTERM");
  try {
    return await within(operator.exited(), `exit after SIGTERM ${what}`, EXIT_WAIT_MS);
  } catch (error) {
    console.error(operator.lines.slice(-12).map((l) => `${l.logger} ${l.message}`).join("\n"));
    throw error;
  } finally {
    operator.kill("SIGKILL");
    await operator.exited();
  }
}

async function kubeconfigWith(
  env: OperatorEnv,
  change: (
    kubeconfig: { clusters: { cluster: { server: string } }[]; users: { user: object }[] },
  ) => void,
): Promise<string> {
  const kubeconfig = JSON.parse(await Deno.readTextFile(env.operatorKubeconfigPath));
  change(kubeconfig);
  const path = `${env.operatorKubeconfigPath}.changed`;
  await Deno.writeTextFile(path, JSON.stringify(kubeconfig));
  return path;
}

Deno.test({
  name: "SIGTERM during start-up with a rejected token exits at once",
  ...devOnly("its request counters"),
}, async () => {
  await using env = await OperatorEnv.start({ operator: false });
  const path = await kubeconfigWith(env, (k) => k.users[0].user = { token: "rejected" });
  const operator = new OperatorProcess(["--kubeconfig", path, ...PROBES]);
  await operator.waitForLog(/^serving health probes/);
  await eventually("a request rejected", () => env.server.counters.count({ code: 401 }) > 0);
  assert.equal(await terminate(operator, "with a rejected token"), 0);
});

Deno.test("SIGTERM while the server is unreachable exits at once", async () => {
  await using env = await OperatorEnv.start({ operator: false });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const path = await kubeconfigWith(
    env,
    (k) => k.clusters[0].cluster.server = `http://127.0.0.1:${port}`,
  );
  const operator = new OperatorProcess(["--kubeconfig", path, ...PROBES]);
  await operator.waitForLog(/^serving health probes/);
  assert.equal(await terminate(operator, "with no server"), 0);
});

Deno.test({
  name: "SIGTERM while the plan ConfigMap loads exits at once",
  ...devOnly("fault injection"),
}, async () => {
  await using env = await OperatorEnv.start({ operator: false, plansRole: true });
  env.server.faults.setLatency(60_000, { verb: "get", resource: "configmaps" });
  const operator = new OperatorProcess([
    "--kubeconfig",
    env.operatorKubeconfigPath,
    "--plans-configmap",
    "kleff-system/kleff-plans",
    ...PROBES,
  ]);
  await operator.waitForLog(/^connected to/);
  assert.equal(await terminate(operator, "while loading plans"), 0);
  assert.ok(operator.lines.some((line) => line.message === "stopped during start-up"));
});

const ELECTION = [
  "--leader-elect",
  "--leader-elect-lease-duration",
  "2s",
  "--leader-elect-renew-deadline",
  "1500ms",
  "--leader-elect-retry-period",
  "250ms",
  "--leader-elect-resource-namespace",
  "kleff-system",
  "--health-probe-bind-address",
  "127.0.0.1:0",
  "--metrics-secure=false",
  "--metrics-bind-address",
  "127.0.0.1:0",
];

Deno.test({
  name:
    "SIGTERM of a standby and of a leader blocked in a reconcile exits at once; the Lease is released",
  ...devOnly("fault injection"),
}, async () => {
  await using env = await OperatorEnv.start({ operator: false });
  const args = ["--kubeconfig", env.operatorKubeconfigPath, "--request-timeout", "1m", ...ELECTION];
  const leader = new OperatorProcess(args);
  let standby: OperatorProcess | undefined;
  try {
    await leader.waitForLog(/^became leader/);
    // Started once the Lease is held, so that it stays the standby.
    standby = new OperatorProcess(args);
    await standby.waitForLog(/^tenant controller started/);
    assert.equal(await terminate(standby, "of a standby"), 0);

    // The new tenant's first request, its finalizer, waits on the slow server.
    env.server.faults.setLatency(60_000, { verb: "patch", resource: "tenants" });
    await env.createTenant("slow", { plan: "basic", userId: "user-slow", username: "slow" });
    await eventually("a reconcile waiting on the slow server", () => reconcileInFlight(leader));
    env.server.faults.setLatency(0);
    assert.equal(await terminate(leader, "in a reconcile"), 0);
    const lease = await env.client.resource<Lease>(leases).get("kleff-tenant-operator", {
      namespace: "kleff-system",
    });
    assert.equal(lease.spec?.holderIdentity, "", "the Lease was released");
  } finally {
    for (const operator of [leader, standby]) {
      operator?.kill("SIGKILL");
      await operator?.exited();
    }
  }
});

/** Whether the operator reports a reconcile in flight (its oldest one older than 0 s). */
async function reconcileInFlight(operator: OperatorProcess): Promise<boolean> {
  const text = await (await operator.get("metrics", "/metrics")).text();
  return /^controller_runtime_active_workers\{controller="tenant"\} [1-9]/m.test(text);
}
