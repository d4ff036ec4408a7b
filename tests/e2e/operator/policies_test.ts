// End-to-end: Istio and Gatekeeper objects with realistic CRDs installed while the operator runs,
// teardown of every per-tenant object (cluster-scoped constraints included), Retain, zero writes.
import assert from "node:assert/strict";
import {
  isNotFound,
  type KubeObject,
  type ResourceDescriptor,
  resourceQuotas,
} from "../../../lib/client/mod.ts";
import { eventually, needsNamespaceDeletion, OperatorEnv } from "../../support/operator_env.ts";

const GATEWAYS: ResourceDescriptor = {
  group: "networking.istio.io",
  version: "v1",
  plural: "gateways",
  kind: "Gateway",
  namespaced: true,
};
const AUTHZ: ResourceDescriptor = {
  group: "security.istio.io",
  version: "v1",
  plural: "authorizationpolicies",
  kind: "AuthorizationPolicy",
  namespaced: true,
};
const REPOS: ResourceDescriptor = {
  group: "constraints.gatekeeper.sh",
  version: "v1beta1",
  plural: "k8sallowedrepos",
  kind: "K8sAllowedRepos",
  namespaced: false,
};

async function find(
  env: OperatorEnv,
  resource: ResourceDescriptor,
  name: string,
  namespace?: string,
) {
  try {
    return await env.client.resource<KubeObject>(resource).get(name, { namespace });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

Deno.test("Istio and Gatekeeper installed at run time are picked up without a restart", async () => {
  await using env = await OperatorEnv.start();
  await env.createTenant("t", { userId: "ns-t", username: "Alice_B", plan: "basic" });
  const before = await env.waitForCondition("t", "PoliciesReady", "True", "NotInstalled");
  assert.match(before.message ?? "", /security\.istio\.io AuthorizationPolicy/);
  await env.installIntegrationCrds();
  const after = await env.waitForCondition("t", "PoliciesReady", "True", "PoliciesApplied");
  assert.match(after.message ?? "", /kleff-ns-t-k8sallowedrepos/);
  const gateway = await find(env, GATEWAYS, "kleff-gateway", "ns-t");
  assert.deepEqual(gateway?.spec, {
    selector: { istio: "ingressgateway" },
    servers: [
      {
        port: { number: 80, name: "http", protocol: "HTTP" },
        hosts: ["*.alice-b.apps.example.com"],
      },
      {
        port: { number: 443, name: "https", protocol: "HTTPS" },
        hosts: ["*.alice-b.apps.example.com"],
        tls: { mode: "SIMPLE", credentialName: "kleff-ns-t-tls" },
      },
    ],
  });
  const authz = await find(env, AUTHZ, "kleff-authz", "ns-t");
  assert.deepEqual(authz?.spec, {
    action: "ALLOW",
    rules: [{ from: [{ source: { namespaces: ["ns-t", "istio-system"] } }] }],
  });
  const constraint = await find(env, REPOS, "kleff-ns-t-k8sallowedrepos");
  assert.deepEqual(constraint?.spec, {
    match: { namespaces: ["ns-t"], kinds: [{ apiGroups: [""], kinds: ["Pod"] }] },
    parameters: { repos: ["registry.kleff.io/", "docker.io/", "ghcr.io/", "quay.io/"] },
  });
  assert.equal(constraint?.metadata?.labels?.["kleff.io/tenant"], "t");
  await env.waitForCondition("t", "TenantReady", "True");

  await env.tenants.patch("t", { spec: { plan: "pro" } });
  await eventually(
    "the constraint pro does not ask for is deleted",
    async () => await find(env, REPOS, "kleff-ns-t-k8sallowedrepos") === undefined,
  );
});

Deno.test({
  name: "requests per new tenant, a restart with zero writes, and a teardown removing everything",
  ...needsNamespaceDeletion(),
}, async () => {
  await using env = await OperatorEnv.start({ operator: false });
  await env.installIntegrationCrds();
  env.startOperator();
  await eventually(
    "discovery ran",
    () => env.counters.snapshot().some((entry) => entry.resource === "gateways"),
  );
  await eventually("the start-up audit", () => env.manager!.audits.count === 1);
  await env.settled();
  env.counters.reset();
  const before = env.reconciles();
  await env.createTenant("t", { userId: "ns-t", username: "u", plan: "basic" });
  await env.settled({ reconcilesAfter: before });
  const requests = env.counters.snapshot().filter((entry) => entry.verb !== "watch")
    .map((entry) => `${entry.verb} ${entry.resource}: ${entry.count}`).sort();
  console.log(
    `requests for one new tenant (the test's own tenant create included):\n${requests.join("\n")}`,
  );
  assert.equal(env.reconciles(), before + 1, "one reconcile: the echoes of its writes cause none");
  assert.equal(env.reads(), 0, "nothing read");
  assert.equal((await env.condition("t", "TenantReady"))?.status, "True");
  for (
    const resource of [
      "namespaces",
      "resourcequotas",
      "limitranges",
      "networkpolicies",
      "gateways",
      "authorizationpolicies",
      "peerauthentications",
      "sidecars",
      "k8sallowedrepos",
    ]
  ) {
    assert.equal(env.counters.count({ verb: "create", resource }), 1, `${resource} once`);
  }
  // The namespace is claimed with the finalizer before its create; the outcome is the one status
  // write.
  assert.equal(env.counters.count({ verb: "patch", resource: "tenants" }), 1);
  assert.equal(env.counters.count({ verb: "patch", resource: "tenants/status" }), 1);

  await env.stopOperator();
  env.counters.reset();
  env.startOperator();
  await eventually("the start-up audit", () => env.manager!.audits.count === 1);
  await env.settled();
  // Every per-tenant kind, the constraints included, was compared through its watch's initial
  // state (a streaming list, or one LIST on a server without them): nothing read for the tenant,
  // nothing written, no reconcile.
  const snapshot = JSON.stringify(env.counters.snapshot());
  assert.deepEqual(env.manager!.audits.last, { tenants: 1, queued: 0 }, snapshot);
  assert.ok(env.counters.count({ verb: "watch", resource: "k8sallowedrepos" }) >= 1, snapshot);
  assert.ok(env.counters.count({ verb: "list", resource: "k8sallowedrepos" }) <= 1, snapshot);
  assert.equal(env.counters.count({ verb: "get", resource: "tenants" }), 0, snapshot);
  assert.equal(env.counters.count({ verb: "get", resource: "namespaces" }), 0, snapshot);
  assert.equal(env.reconciles(), 0);
  assert.equal(env.writes(), 0, snapshot);

  await env.tenants.delete("t");
  await env.waitForTenantGone("t");
  assert.equal(await env.namespace("ns-t"), undefined);
  assert.equal(
    await find(env, REPOS, "kleff-ns-t-k8sallowedrepos"),
    undefined,
    "cluster-scoped constraint deleted",
  );
});

Deno.test("Retain keeps the guard rails in force, disowned", async () => {
  await using env = await OperatorEnv.start({ operator: false });
  await env.installIntegrationCrds();
  env.startOperator();
  await env.createTenant("keep", {
    userId: "ns-keep",
    username: "u",
    plan: "free",
    deletionPolicy: "Retain",
  });
  await env.waitForCondition("keep", "PoliciesReady", "True", "PoliciesApplied");
  await env.tenants.delete("keep");
  await env.waitForTenantGone("keep");
  const namespace = await env.namespace("ns-keep");
  assert.equal(namespace?.metadata?.labels?.["kleff.io/orphaned"], "true");
  assert.equal(
    namespace?.metadata?.labels?.["pod-security.kubernetes.io/enforce"],
    "restricted",
    "Pod Security stays in force on a retained namespace",
  );
  assert.equal(namespace?.metadata?.labels?.["kleff.io/tenant"], undefined);
  for (
    const [resource, name, ns] of [
      [resourceQuotas, "kleff-quota", "ns-keep"],
      [GATEWAYS, "kleff-gateway", "ns-keep"],
      [REPOS, "kleff-ns-keep-k8sallowedrepos", undefined],
    ] as const
  ) {
    const object = await find(env, resource, name, ns);
    assert.ok(object, `${name} kept`);
    assert.equal(object.metadata?.labels?.["kleff.io/orphaned"], "true");
    assert.equal(object.metadata?.labels?.["app.kubernetes.io/managed-by"], undefined);
    assert.equal(object.metadata?.annotations?.["kleff.io/tenant-uid"], undefined);
  }
});
