// End-to-end: catalogue ConfigMap edits that change which constraint kinds plans use, and edits
// whose follow-up requests fail: every tenant is reconciled, new kinds are never reported as not
// installed while discovery catches up, and constraints of a dropped kind are removed.
import assert from "node:assert/strict";
import type { ConfigMap, ResourceQuota } from "kubernetes-types/core/v1.d.ts";
import {
  configMaps,
  connect,
  isNotFound,
  type KubeClient,
  type KubeObject,
  type ResourceDescriptor,
  resourceQuotas,
} from "../../../lib/client/mod.ts";
import { loadPlans } from "../../../lib/operator/plan_source.ts";
import { devOnly, eventually, OperatorEnv, sleep } from "../../support/operator_env.ts";

const REPOS: ResourceDescriptor = {
  group: "constraints.gatekeeper.sh",
  version: "v1beta1",
  plural: "k8sallowedrepos",
  kind: "K8sAllowedRepos",
  namespaced: false,
};
const SOURCE = { kind: "configMap" as const, namespace: "kleff-system", name: "plans" };

const catalogue = (plans: Record<string, unknown>) => ({
  "plans.yaml": JSON.stringify({ plans }),
});

/** Creates the catalogue ConfigMap with `plans` and starts the operator reading it. */
async function startWithCatalogue(
  env: OperatorEnv,
  plans: Record<string, unknown>,
  client?: KubeClient,
): Promise<void> {
  await env.client.resource<ConfigMap>(configMaps).create({
    metadata: { name: SOURCE.name, namespace: SOURCE.namespace },
    data: catalogue(plans),
  });
  env.startOperator(
    { plans: await loadPlans(SOURCE, env.client), discoveryIntervalMs: 50 },
    client,
  );
}

function editCatalogue(env: OperatorEnv, plans: Record<string, unknown>): Promise<ConfigMap> {
  return env.client.resource<ConfigMap>(configMaps).patch(SOURCE.name, {
    data: catalogue(plans),
  }, { namespace: SOURCE.namespace });
}

async function constraint(env: OperatorEnv, name: string): Promise<KubeObject | undefined> {
  try {
    return await env.client.resource<KubeObject>(REPOS).get(name);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * A proxy to `upstream` that answers the group-version discovery documents of
 * `constraints.gatekeeper.sh` `delayMs` late, so that a discovery is nearly always in flight.
 */
function slowDiscoveryProxy(upstream: string, delayMs: number) {
  const closing = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const url = new URL(request.url);
      if (url.pathname.startsWith("/apis/constraints.gatekeeper.sh/")) await sleep(delayMs);
      const response = await fetch(new URL(`${url.pathname}${url.search}`, upstream), {
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal: closing.signal,
      });
      const headers = new Headers(response.headers);
      for (
        const name of ["content-encoding", "content-length", "transfer-encoding", "connection"]
      ) {
        headers.delete(name);
      }
      return new Response(response.body, { status: response.status, headers });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    async close() {
      const shutdown = server.shutdown();
      await Promise.race([shutdown, sleep(1000)]);
      closing.abort();
      await shutdown;
    },
  };
}

Deno.test({
  name: "a catalogue edit reconciles every tenant even when namespaces cannot be listed",
  ...devOnly("fault injection"),
}, async () => {
  await using env = await OperatorEnv.start({ operator: false, plansRole: true });
  await startWithCatalogue(env, { small: { resourceQuota: { pods: "2" } } });
  await env.createTenant("a", { userId: "ns-a", username: "a", plan: "small" });
  await env.waitForCondition("a", "TenantReady", "True");
  env.server.faults.failNext({ status: 403, verb: "list", resource: "namespaces", count: 100 });
  await editCatalogue(env, { small: { resourceQuota: { pods: "3" } } });
  const quotas = env.client.resource<ResourceQuota>(resourceQuotas);
  await eventually(
    "the quota of the changed plan",
    async () => (await quotas.get("kleff-quota", { namespace: "ns-a" })).spec?.hard?.pods === "3",
  );
  env.server.faults.clear();
});

Deno.test({
  name:
    "a new constraint kind takes effect with the catalogue; a dropped one's constraints are removed",
  ...devOnly("plain HTTP, for a proxy that delays discovery"),
}, async () => {
  await using env = await OperatorEnv.start({ operator: false, plansRole: true });
  await env.installIntegrationCrds();
  const proxy = slowDiscoveryProxy(env.server.url, 400);
  const kubeconfig = JSON.parse(await Deno.readTextFile(env.operatorKubeconfigPath));
  kubeconfig.clusters[0].cluster.server = proxy.url;
  const path = `${env.operatorKubeconfigPath}.proxy`;
  await Deno.writeTextFile(path, JSON.stringify(kubeconfig));
  using client = await connect({ kubeconfig: path });
  try {
    await startWithCatalogue(env, { small: { resourceQuota: { pods: "2" } } }, client);
    await env.createTenant("a", { userId: "ns-a", username: "a", plan: "small" });
    await env.waitForCondition("a", "PoliciesReady", "True", "PoliciesApplied");

    await editCatalogue(env, {
      small: { resourceQuota: { pods: "2" }, allowedRegistries: ["ghcr.io/"] },
    });
    const seen = new Set<string>();
    await eventually("the new constraint", async () => {
      const policies = await env.condition("a", "PoliciesReady");
      seen.add(policies?.reason ?? "");
      return await constraint(env, "kleff-ns-a-k8sallowedrepos") !== undefined &&
        policies?.reason === "PoliciesApplied" &&
        /kleff-ns-a-k8sallowedrepos/.test(policies.message ?? "");
    });
    assert.ok(!seen.has("NotInstalled"), `PoliciesReady went through ${[...seen].join(", ")}`);

    await editCatalogue(env, { small: { resourceQuota: { pods: "2" } } });
    await eventually(
      "the constraint of the kind no plan names any more is deleted",
      async () => await constraint(env, "kleff-ns-a-k8sallowedrepos") === undefined,
    );
    await env.waitForCondition("a", "TenantReady", "True");
  } finally {
    await env.stopOperator();
    await proxy.close();
  }
});
