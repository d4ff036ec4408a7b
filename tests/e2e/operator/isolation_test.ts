// End-to-end: the attacks of issue 11 that the operator itself must stop, each run as the identity
// the attacker has (a tenant admin's service account bound to admin rights in its own namespace,
// an account that may edit one namespace, or a customer choosing a Tenant's spec through the
// platform) against the dev API server in RBAC mode, with the operator as its service account.
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import type { CustomResourceDefinition } from "kubernetes-types/apiextensions/v1.d.ts";
import type { LimitRange, ResourceQuota } from "kubernetes-types/core/v1.d.ts";
import type { NetworkPolicy } from "kubernetes-types/networking/v1.d.ts";
import { NAMESPACE_CLAIM_ANNOTATION, TENANT_UID_ANNOTATION } from "../../../lib/api/mod.ts";
import { sleep } from "../../../lib/backoff.ts";
import {
  connect,
  isNotFound,
  type KubeClient,
  type KubeObject,
  type KubeObjectBase,
  limitRanges,
  networkPolicies,
  type ResourceDescriptor,
  resourceQuotas,
} from "../../../lib/client/mod.ts";
import {
  devOnly,
  eventually,
  kubernetesHas,
  needsNamespaceDeletion,
  OperatorEnv,
  readDeployYaml,
} from "../../support/operator_env.ts";
import { connectAs, grantTenantAdmin, RequestLog } from "../../support/identities.ts";

const GATEWAYS: ResourceDescriptor = {
  group: "networking.istio.io",
  version: "v1",
  plural: "gateways",
  kind: "Gateway",
  namespaced: true,
};

/** Service-account tokens of the attackers (tenant admins, a namespace editor). */
const TOKENS = {
  "ns-a-admin": "ns-a/admin",
  "ns-t-admin": "ns-t/admin",
  "ns-editor": "platform-team/ns-editor",
};

/** The Tenant CRD as an older, laxer release might have had it: any spec goes. */
async function laxCrd(): Promise<CustomResourceDefinition> {
  const crd = await readDeployYaml<CustomResourceDefinition>("crd.yaml");
  const schema = crd.spec.versions[0].schema!.openAPIV3Schema!;
  schema.properties!.spec = {
    type: "object",
    "x-kubernetes-preserve-unknown-fields": true,
  } as never;
  return crd;
}

async function find<T extends KubeObjectBase>(
  client: KubeClient,
  resource: ResourceDescriptor,
  name: string,
  namespace?: string,
): Promise<T | undefined> {
  try {
    return await client.resource<T>(resource).get(name, { namespace });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** The Events recorded on Tenant `name`. */
async function eventsOf(env: OperatorEnv, name: string) {
  const list = await env.client.request<
    { items: { type: string; reason: string; message: string }[] }
  >({
    path: "/api/v1/namespaces/default/events",
    query: { fieldSelector: `involvedObject.name=${name}` },
  });
  return list.items;
}

Deno.test({
  name: "squatting a platform namespace: the CRD refuses it, the operator never creates it",
  ...needsNamespaceDeletion(),
}, async () => {
  // The CRD's rule (CEL, Kubernetes 1.25 on) refuses the built-in reserved names at admission.
  if (kubernetesHas(25)) {
    await using strict = await OperatorEnv.start({ operator: false });
    await assert.rejects(
      strict.createTenant("squatter", { userId: "istio-system", username: "u", plan: "basic" }),
      /userId names a namespace reserved for the platform/,
    );
    await assert.rejects(
      strict.createTenant("squatter", { userId: "kube-tenant", username: "u", plan: "basic" }),
      /reserved for the platform/,
    );
  }

  // A cluster whose CRD does not carry the rule (an older release, or loosened by hand).
  await using env = await OperatorEnv.start({ crd: await laxCrd() });
  await env.namespaces.create({ metadata: { name: "istio-system" } });
  await env.createTenant("squatter", { userId: "istio-system", username: "u", plan: "basic" });
  await env.createTenant("kube", { userId: "kube-tenant", username: "k", plan: "basic" });
  const refused = await env.waitForCondition("squatter", "NamespaceReady", "False", "InvalidSpec");
  assert.match(refused.message ?? "", /namespace istio-system is reserved for the platform/);
  await env.waitForCondition("kube", "NamespaceReady", "False", "InvalidSpec");
  const warning = (await eventsOf(env, "squatter")).find((event) => event.type === "Warning");
  assert.equal(warning?.reason, "InvalidSpec");
  // Istio is reinstalled: its namespace goes away for a while.
  await env.namespaces.delete("istio-system");
  await eventually(
    "istio-system gone",
    async () => await env.namespace("istio-system") === undefined,
  );
  const seen = env.reconciles();
  await env.tenants.patch("squatter", { metadata: { labels: { nudge: "1" } } });
  await env.settled({ reconcilesAfter: seen });
  assert.equal(await env.namespace("istio-system"), undefined, "never created for a tenant");
  assert.equal(await env.namespace("kube-tenant"), undefined);
  assert.equal((await env.condition("squatter", "TenantReady"))?.reason, "InvalidSpec");

  // The configured list counts too, and the ingress namespace always does.
  await env.stopOperator();
  env.startOperator({ reservedNamespaces: ["monitoring", "team-*"], ingressNamespace: "edge" });
  await env.createTenant("mon", { userId: "monitoring", username: "m", plan: "basic" });
  await env.createTenant("team", { userId: "team-x", username: "x", plan: "basic" });
  await env.createTenant("edge", { userId: "edge", username: "e", plan: "basic" });
  for (const name of ["mon", "team", "edge"]) {
    await env.waitForCondition(name, "NamespaceReady", "False", "InvalidSpec");
  }
  await env.settled();
  for (const name of ["monitoring", "team-x", "edge"]) {
    assert.equal(await env.namespace(name), undefined, name);
  }
  await env.tenants.delete("squatter");
  await env.waitForTenantGone("squatter");
});

Deno.test({
  name: "disowning the guard rails: stripped, weakened, deleted or planted, they come back",
  ...devOnly("service-account tokens of its own"),
}, async () => {
  await using env = await OperatorEnv.start({ server: { serviceAccountTokens: TOKENS } });
  await env.createTenant("t", { userId: "ns-t", username: "t", plan: "basic" });
  await env.waitForCondition("t", "TenantReady", "True");
  const planned = await find<NetworkPolicy>(env.client, networkPolicies, "kleff-isolation", "ns-t");
  const plannedQuota = await find<ResourceQuota>(env.client, resourceQuotas, "kleff-quota", "ns-t");
  await grantTenantAdmin(env, "ns-t", "ns-t/admin");
  using admin = await connectAs(env, "ns-t-admin");
  const disown = {
    labels: { "app.kubernetes.io/managed-by": null, "kleff.io/tenant": null },
    annotations: { "kleff.io/tenant-uid": null },
  };
  const restored = (resource: ResourceDescriptor, name: string, spec: unknown) =>
    eventually(`${name} restored`, async () => {
      const object = await find<KubeObject>(env.client, resource, name, "ns-t");
      return object?.metadata?.annotations?.["kleff.io/tenant-uid"] !== undefined &&
        object.metadata.labels?.["kleff.io/tenant"] === "t" &&
        isDeepStrictEqual(object.spec, spec);
    });

  // The tenant admin strips the ownership metadata and then opens the policy up.
  await admin.resource(networkPolicies).patch("kleff-isolation", { metadata: disown }, {
    namespace: "ns-t",
  });
  await admin.resource(networkPolicies).patch("kleff-isolation", {
    spec: { ingress: [{}], egress: [{}] },
  }, { namespace: "ns-t" });
  await restored(networkPolicies, "kleff-isolation", planned?.spec);

  // Strip and weaken the quota in one go, then delete the stripped limits.
  await admin.resource(resourceQuotas).patch("kleff-quota", {
    metadata: disown,
    spec: { hard: { pods: "1000" }, scopes: ["BestEffort"] },
  }, { namespace: "ns-t" });
  await restored(resourceQuotas, "kleff-quota", plannedQuota?.spec);
  await admin.resource(limitRanges).patch("kleff-limits", { metadata: disown }, {
    namespace: "ns-t",
  });
  await admin.resource(limitRanges).delete("kleff-limits", { namespace: "ns-t" }).catch(() => {});
  await eventually("kleff-limits back", async () => {
    const limits = await find<LimitRange>(env.client, limitRanges, "kleff-limits", "ns-t");
    return limits?.metadata?.labels?.["kleff.io/tenant"] === "t";
  });

  // Planted while the operator is away: the tenant's own allow-all policy under our name.
  await env.stopOperator();
  await admin.resource(networkPolicies).delete("kleff-isolation", { namespace: "ns-t" });
  await admin.resource(networkPolicies).create({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "kleff-isolation", namespace: "ns-t" },
    spec: { podSelector: {}, ingress: [{}], egress: [{}], policyTypes: ["Ingress", "Egress"] },
  } as KubeObject, { namespace: "ns-t" });
  env.startOperator();
  await restored(networkPolicies, "kleff-isolation", planned?.spec);
  await env.settled();
  assert.equal((await env.condition("t", "TenantReady"))?.status, "True");
  const events = await eventsOf(env, "t");
  assert.ok(
    events.some((event) => /took back NetworkPolicy kleff-isolation/.test(event.message)),
    JSON.stringify(events),
  );
});

Deno.test("an unknown plan fails closed completely, and keeps every ban the tenant had", async () => {
  await using env = await OperatorEnv.start();
  await env.createTenant("t", { userId: "ns-t", username: "t", plan: "basic" });
  await env.waitForCondition("t", "TenantReady", "True");
  await env.tenants.patch("t", { spec: { plan: "gold" } });
  const resources = await env.waitForCondition("t", "ResourcesReady", "False", "UnknownPlan");
  assert.match(resources.message ?? "", /no LoadBalancer or NodePort Services/);
  await env.settled();
  const lockdown = {
    pods: "0",
    "requests.cpu": "0",
    "requests.memory": "0",
    "limits.cpu": "0",
    "limits.memory": "0",
    "services.loadbalancers": "0",
    "services.nodeports": "0",
    persistentvolumeclaims: "0",
    "requests.storage": "0",
  };
  const quota = await find<ResourceQuota>(env.client, resourceQuotas, "kleff-quota", "ns-t");
  assert.deepEqual(quota?.spec?.hard, lockdown);
  assert.ok(await find(env.client, limitRanges, "kleff-limits", "ns-t"), "limits kept");
  assert.ok(await find(env.client, networkPolicies, "kleff-isolation", "ns-t"), "isolation kept");

  await env.createTenant("fresh", { userId: "ns-fresh", username: "f", plan: "gold" });
  await env.waitForCondition("fresh", "PoliciesReady", "False", "UnknownPlan");
  await env.settled();
  const fresh = await find<ResourceQuota>(env.client, resourceQuotas, "kleff-quota", "ns-fresh");
  assert.deepEqual(fresh?.spec?.hard, lockdown);
  const isolation = await find<NetworkPolicy>(
    env.client,
    networkPolicies,
    "kleff-isolation",
    "ns-fresh",
  );
  assert.deepEqual(isolation?.spec?.policyTypes, ["Ingress", "Egress"], "a new tenant is isolated");

  await env.tenants.patch("t", { spec: { plan: "basic" } });
  await env.waitForCondition("t", "TenantReady", "True");
});

Deno.test("colliding gateway hosts: the first claimant keeps them, the others get HostConflict", async () => {
  await using env = await OperatorEnv.start({ operator: false });
  await env.installIntegrationCrds();
  env.startOperator();
  const tenants: [string, string][] = [
    ["alice", "alice"],
    ["alice-upper", "ALICE"],
    ["ab1", "Alice_B"],
    ["ab2", "alice-b"],
    ["nested", "x.alice"],
  ];
  for (const [name, username] of tenants) {
    await env.createTenant(name, { userId: `ns-${name}`, username, plan: "basic" });
    await env.waitForCondition(name, "NamespaceReady", "True");
  }
  await env.waitForCondition("alice", "TenantReady", "True");
  await env.waitForCondition("ab1", "TenantReady", "True");
  for (const [name, first] of [["alice-upper", "alice"], ["ab2", "ab1"], ["nested", "alice"]]) {
    const conflict = await env.waitForCondition(name, "PoliciesReady", "False", "HostConflict");
    assert.match(conflict.message ?? "", new RegExp(`of Tenant ${first}, which claimed it first`));
    const warning = (await eventsOf(env, name)).find((event) => event.reason === "HostConflict");
    assert.equal(warning?.type, "Warning");
    assert.match(warning?.message ?? "", new RegExp(`Tenant ${first}\\b`));
  }
  await env.settled();
  for (const name of ["alice-upper", "ab2", "nested"]) {
    assert.equal(await find(env.client, GATEWAYS, "kleff-gateway", `ns-${name}`), undefined, name);
  }
  assert.ok(await find(env.client, GATEWAYS, "kleff-gateway", "ns-alice"), "the first keeps it");

  await env.tenants.delete("alice");
  await env.waitForTenantGone("alice");
  await env.waitForCondition("alice-upper", "TenantReady", "True");
  const gateway = await find<KubeObject>(env.client, GATEWAYS, "kleff-gateway", "ns-alice-upper");
  assert.deepEqual(
    (gateway?.spec as { servers: { hosts: string[] }[] }).servers[0].hosts,
    ["*.alice.apps.example.com"],
  );
  const nested = await env.waitForCondition("nested", "PoliciesReady", "False", "HostConflict");
  assert.match(nested.message ?? "", /of Tenant alice-upper, which claimed it first/);
});

Deno.test({
  name: "labels in one tenant's namespace claiming other tenants wake no one else",
  ...devOnly("service-account tokens of its own and its request counters"),
}, async () => {
  await using env = await OperatorEnv.start({
    operator: false,
    server: { serviceAccountTokens: TOKENS },
  });
  await using log = new RequestLog(env.server.url);
  env.startOperator({}, await connectAs(env, "operator-token", { server: log.url }));
  for (const name of ["a", "b", "c"]) {
    await env.createTenant(name, { userId: `ns-${name}`, username: name, plan: "basic" });
  }
  for (const name of ["a", "b", "c"]) await env.waitForCondition(name, "TenantReady", "True");
  await env.settled();
  await grantTenantAdmin(env, "ns-a", "ns-a/admin");
  using attacker = await connectAs(env, "ns-a-admin");
  const policies = attacker.resource<NetworkPolicy>(networkPolicies);
  for (const [name, victim] of [["spam", "b"], ["kleff-spam", "c"]]) {
    await policies.create({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: {
        name,
        namespace: "ns-a",
        labels: {
          "app.kubernetes.io/managed-by": "kleff-tenant-operator",
          "kleff.io/tenant": victim,
        },
        annotations: { "kleff.io/tenant-uid": (await env.tenants.get(victim)).metadata!.uid! },
      },
      spec: { podSelector: {} },
    }, { namespace: "ns-a" });
  }
  const before = { a: log.reconciles("a"), b: log.reconciles("b"), c: log.reconciles("c") };
  for (let i = 0; i < 150; i++) {
    for (const name of ["spam", "kleff-spam"]) {
      await policies.patch(name, { metadata: { labels: { round: String(i) } } }, {
        namespace: "ns-a",
      });
    }
  }
  await env.settled();
  assert.equal(log.reconciles("b") - before.b, 0, "tenant b never reconciled");
  assert.equal(log.reconciles("c") - before.c, 0, "tenant c never reconciled");
  assert.ok(log.reconciles("a") - before.a <= 150, "only a's own name wakes a, coalesced");
  assert.equal(await find(env.client, networkPolicies, "spam", "ns-a") !== undefined, true);
});

Deno.test({
  name: "a namespace annotated with a Tenant's uid is never adopted, relabelled or deleted",
  ...devOnly("service-account tokens of its own"),
}, async () => {
  await using env = await OperatorEnv.start({ server: { serviceAccountTokens: TOKENS } });
  await env.namespaces.create({ metadata: { name: "shared", labels: { team: "payments" } } });
  const tenant = await env.createTenant("t", { userId: "shared", username: "t", plan: "basic" });
  await env.waitForCondition("t", "NamespaceReady", "False", "NamespaceConflict");
  // Someone who may edit that one namespace dresses it up as the tenant's.
  await env.client.request({
    method: "POST",
    path: "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    body: {
      metadata: { name: "edit-shared" },
      rules: [{
        apiGroups: [""],
        resources: ["namespaces"],
        resourceNames: ["shared"],
        verbs: ["get", "patch"],
      }],
    },
  });
  await env.client.request({
    method: "POST",
    path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
    body: {
      metadata: { name: "edit-shared" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit-shared" },
      subjects: [{ kind: "ServiceAccount", namespace: "platform-team", name: "ns-editor" }],
    },
  });
  using editor = await connectAs(env, "ns-editor");
  const seen = env.reconciles();
  const forged = await editor.resource(env.namespaces.descriptor).patch("shared", {
    metadata: {
      labels: { "app.kubernetes.io/managed-by": "kleff-tenant-operator", "kleff.io/tenant": "t" },
      annotations: { "kleff.io/tenant-uid": tenant.metadata!.uid! },
    },
  });
  await env.settled({ reconcilesAfter: seen });
  const conflict = await env.condition("t", "NamespaceReady");
  assert.equal(conflict?.reason, "NamespaceConflict");
  assert.match(conflict?.message ?? "", /is not the namespace the operator created for it/);
  assert.equal(
    (await env.namespace("shared"))?.metadata?.resourceVersion,
    forged.metadata?.resourceVersion,
    "the operator wrote nothing to it",
  );
  assert.equal(await find(env.client, resourceQuotas, "kleff-quota", "shared"), undefined);
  await env.tenants.delete("t");
  await env.waitForTenantGone("t");
  const after = await env.namespace("shared");
  assert.equal(after?.metadata?.deletionTimestamp, undefined, "never deleted");
  assert.equal(after?.metadata?.resourceVersion, forged.metadata?.resourceVersion);
});

Deno.test({
  name: "a namespace whose create answer was lost is the tenant's by its claim, and only by it",
  ...devOnly("latency injection"),
}, async () => {
  await using env = await OperatorEnv.start({ operator: false });
  // Namespace creates reach the server after the operator's request has timed out: the first
  // one is stored while the operator hears only a timeout.
  using client = await connect({ kubeconfig: env.operatorKubeconfigPath, timeoutMs: 500 });
  env.startOperator({ requestTimeoutMs: 500 }, client);
  await env.settled();
  env.counters.reset();
  env.server.faults.setLatency(1000, { verb: "create", resource: "namespaces" });
  const tenant = await env.createTenant("t", { userId: "ns-t", username: "t", plan: "basic" });
  await env.waitForCondition("t", "TenantReady", "True", undefined, 20_000);
  env.server.faults.setLatency(0);
  const namespace = await env.namespace("ns-t");
  const stored = await env.tenants.get("t");
  assert.equal(stored.status?.namespaceUID, namespace?.metadata?.uid, "taken up, uid recorded");
  assert.equal(stored.metadata?.annotations?.[NAMESPACE_CLAIM_ANNOTATION], "ns-t");
  assert.ok(env.metric("controller_runtime_reconcile_errors_total") >= 1, "a create timed out");
  assert.equal(env.counters.count({ verb: "create", resource: "namespaces", code: 201 }), 1);
  assert.equal(namespace?.metadata?.annotations?.[TENANT_UID_ANNOTATION], tenant.metadata?.uid);

  // Whoever may edit Tenants and a namespace can write a claim and our marks: a namespace older
  // than the Tenant is never taken for one whose create answer was lost.
  await env.namespaces.create({
    metadata: {
      name: "ns-u",
      labels: { "app.kubernetes.io/managed-by": "kleff-tenant-operator", "kleff.io/tenant": "u" },
    },
  });
  // Creation times have a resolution of one second: the Tenant comes in a later one.
  await sleep(1010 - Date.now() % 1000);
  const squatter = await env.createTenant("u", { userId: "ns-u", username: "u", plan: "basic" }, {
    annotations: { [NAMESPACE_CLAIM_ANNOTATION]: "ns-u" },
  });
  await env.waitForCondition("u", "NamespaceReady", "False", "NamespaceConflict");
  await env.namespaces.patch("ns-u", {
    metadata: { annotations: { [TENANT_UID_ANNOTATION]: squatter.metadata!.uid! } },
  });
  const seen = env.reconciles();
  await env.settled({ reconcilesAfter: seen });
  assert.equal((await env.condition("u", "NamespaceReady"))?.reason, "NamespaceConflict");
  assert.equal((await env.tenants.get("u")).status?.namespaceUID, undefined);
});
