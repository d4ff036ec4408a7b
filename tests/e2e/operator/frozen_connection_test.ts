// Frozen connections (bytes stop, nothing closes) between the operator and the API server, on each
// transport: the request in flight times out, its connection is discarded, the retry and the
// watches' reconnects use fresh connections, and the tenant is reconciled again.
import assert from "node:assert/strict";
import { connect } from "../../../lib/client/mod.ts";
import { Registry } from "../../../lib/metrics/mod.ts";
import { type FreezeProxy, startFreezeProxy } from "../../../tools/chaos/freeze_proxy.ts";
import { devOnly, OperatorEnv } from "../../support/operator_env.ts";
import { parseMetrics } from "../../support/operator_process.ts";
import { eventually } from "../../support/wait.ts";

const spec = (userId: string) => ({ plan: "basic", userId, username: userId });

/** The transports: plain HTTP, TLS with a CA (fetch), TLS without verification (node:https). */
const SETUPS = [
  { name: "plain HTTP", tls: false, insecure: false },
  { name: "TLS through fetch", tls: true, insecure: false },
  { name: "TLS through node:https", tls: true, insecure: true },
] as const;

for (const setup of SETUPS) {
  Deno.test({
    name:
      `${setup.name}: a request on a frozen connection times out and the tenant is reconciled again on a fresh one`,
    ...devOnly("fault injection behind a freezing proxy"),
  }, async () => {
    await using env = await OperatorEnv.start({ operator: false, server: { tls: setup.tls } });
    const proxy = startFreezeProxy(new URL(env.server.url).host);
    try {
      const registry = new Registry();
      const client = await clientThrough(env, proxy, { insecure: setup.insecure, registry });
      env.startOperator({
        requestTimeoutMs: 1000,
        watchTimings: {
          inactivityTimeoutMs: 1500,
          initialEventsTimeoutMs: 1000,
          backoff: { initialMs: 50, maxMs: 500 },
        },
      }, client);
      await env.createTenant("before", spec("user-before"));
      await env.waitForCondition("before", "TenantReady", "True");
      // Nothing else in flight: the reconcile awaited below is the new tenant's.
      await env.settled();

      // A reconcile waits on a slow write (slower than the timeout: the new tenant's finalizer,
      // its first request) when every connection freezes.
      env.server.faults.setLatency(3000, { verb: "patch", resource: "tenants" });
      await env.createTenant("during", spec("user-during"));
      await eventually(
        "a reconcile in flight",
        () => env.metric("controller_runtime_active_workers") > 0,
      );
      const frozen = proxy.freezeOpen();
      env.server.faults.setLatency(0);
      assert.ok(frozen > 0, "connections were open to freeze");

      await env.waitForCondition("during", "TenantReady", "True", undefined, 20_000);
      assert.ok(timeouts(registry) > 0, "a request timed out");
      // Watches reconnected: a tenant created now is reconciled through their fresh connections.
      await env.createTenant("after", spec("user-after"));
      await env.waitForCondition("after", "TenantReady", "True", undefined, 20_000);
      assert.ok(proxy.accepted > frozen, "fresh connections were opened");
      assert.ok(env.manager!.liveness().ready);
      await eventually("ready again", () => env.manager!.readiness().ready, 20_000);
      await env.stopOperator();
      client.close();
    } finally {
      await proxy.close();
    }
  });
}

/** The operator's client, through `proxy`; with `insecure`, TLS without verification. */
async function clientThrough(
  env: OperatorEnv,
  proxy: FreezeProxy,
  options: { insecure: boolean; registry: Registry },
) {
  const { insecure, registry } = options;
  const kubeconfig = JSON.parse(await Deno.readTextFile(env.operatorKubeconfigPath));
  const cluster = kubeconfig.clusters[0].cluster;
  const url = new URL(cluster.server);
  cluster.server = `${url.protocol}//${proxy.address}`;
  if (insecure) {
    delete cluster["certificate-authority-data"];
    cluster["insecure-skip-tls-verify"] = true;
  }
  const path = await Deno.makeTempFile({ suffix: ".kubeconfig" });
  await Deno.writeTextFile(path, JSON.stringify(kubeconfig));
  try {
    return await connect({ kubeconfig: path, timeoutMs: 1000, metrics: registry });
  } finally {
    await Deno.remove(path);
  }
}

/** Requests the client counted as timed out. */
function timeouts(registry: Registry): number {
  let total = 0;
  for (const [key, value] of parseMetrics(registry.expose())) {
    if (key.startsWith('rest_client_requests_total{code="<timeout>"')) total += value;
  }
  return total;
}
