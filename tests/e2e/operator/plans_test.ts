// End-to-end: per-plan objects (quota, limits, isolation, Pod Security labels) against the dev API
// server: creation, plan change, drift, unknown plan and its fix, catalogue ConfigMap edits.
import assert from "node:assert/strict";
import type { ConfigMap, LimitRange, ResourceQuota } from "kubernetes-types/core/v1.d.ts";
import type { NetworkPolicy } from "kubernetes-types/networking/v1.d.ts";
import {
  configMaps,
  limitRanges,
  networkPolicies,
  resourceQuotas,
} from "../../../lib/client/mod.ts";
import { BUILTIN_CATALOGUE_YAML, parseCatalogue } from "../../../lib/plans/mod.ts";
import { loadPlans } from "../../../lib/operator/plan_source.ts";
import { eventually, OperatorEnv } from "../../support/operator_env.ts";

const PSA = (level: string) =>
  Object.fromEntries(
    ["enforce", "audit", "warn"].map((mode) => [`pod-security.kubernetes.io/${mode}`, level]),
  );

function pick(labels: Record<string, string> | undefined, prefix: string): Record<string, string> {
  return Object.fromEntries(Object.entries(labels ?? {}).filter(([key]) => key.startsWith(prefix)));
}

Deno.test("a new tenant gets its plan's quota, limits, isolation and Pod Security labels", async () => {
  await using env = await OperatorEnv.start();
  env.counters.reset();
  await env.createTenant("t", { userId: "ns-t", username: "alice", plan: "basic" });
  await env.waitForCondition("t", "TenantReady", "True");
  const quotas = env.client.resource<ResourceQuota>(resourceQuotas);
  const quota = await quotas.get("kleff-quota", { namespace: "ns-t" });
  const basic = parseCatalogue(BUILTIN_CATALOGUE_YAML, "test").plans.get("basic")!;
  assert.deepEqual(quota.spec?.hard, basic.resourceQuota);
  assert.equal(quota.metadata?.labels?.["app.kubernetes.io/managed-by"], "kleff-tenant-operator");
  assert.equal(quota.metadata?.labels?.["kleff.io/tenant"], "t");
  const tenant = await env.tenants.get("t");
  assert.equal(quota.metadata?.annotations?.["kleff.io/tenant-uid"], tenant.metadata?.uid);
  const limits = await env.client.resource<LimitRange>(limitRanges).get("kleff-limits", {
    namespace: "ns-t",
  });
  assert.deepEqual(limits.spec?.limits, [
    {
      type: "Container",
      max: { cpu: "1", memory: "2Gi" },
      default: { cpu: "500m", memory: "512Mi" },
      defaultRequest: { cpu: "100m", memory: "128Mi" },
    },
    { type: "PersistentVolumeClaim", max: { storage: "10Gi" } },
  ]);
  const policy = await env.client.resource<NetworkPolicy>(networkPolicies).get("kleff-isolation", {
    namespace: "ns-t",
  });
  assert.deepEqual(policy.spec?.policyTypes, ["Ingress", "Egress"]);
  assert.deepEqual(policy.spec?.ingress?.[0].from?.[1], {
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "istio-system" } },
  });
  const namespace = await env.namespace("ns-t");
  assert.deepEqual(pick(namespace?.metadata?.labels, "pod-security."), PSA("baseline"));
  const resources = await env.condition("t", "ResourcesReady");
  assert.equal(resources?.reason, "PlanApplied");
  const policies = await env.condition("t", "PoliciesReady");
  assert.equal(policies?.status, "True");
  assert.equal(policies?.reason, "NotInstalled");
  assert.match(policies?.message ?? "", /networking\.istio\.io Gateway/);
  assert.match(policies?.message ?? "", /constraints\.gatekeeper\.sh K8sAllowedRepos/);
  await env.settled();
  const creates = env.counters.snapshot().filter((entry) => entry.verb === "create");
  const created = (resource: string) =>
    creates.filter((entry) => entry.resource === resource).reduce(
      (sum, entry) => sum + entry.count,
      0,
    );
  for (const resource of ["namespaces", "resourcequotas", "limitranges", "networkpolicies"]) {
    assert.equal(created(resource), 1, `${resource} created once`);
  }
  assert.equal(
    env.counters.count({ verb: "patch", resource: "tenants/status" }),
    1,
    "one status write: the outcome (the namespace is claimed with the finalizer)",
  );
  assert.equal(env.counters.count({ verb: "patch", resource: "resourcequotas" }), 0);
});

Deno.test("a plan change updates the objects in place; hand edits are restored, equivalent quantities are not rewritten", async () => {
  await using env = await OperatorEnv.start();
  await env.createTenant("t", { userId: "ns-t", username: "alice", plan: "free" });
  await env.waitForCondition("t", "TenantReady", "True");
  const quotas = env.client.resource<ResourceQuota>(resourceQuotas);
  const before = await quotas.get("kleff-quota", { namespace: "ns-t" });
  assert.equal(before.spec?.hard?.pods, "4");
  await env.tenants.patch("t", { spec: { plan: "pro" } });
  const after = await eventually("pro quota", async () => {
    const quota = await quotas.get("kleff-quota", { namespace: "ns-t" });
    return quota.spec?.hard?.pods === "100" ? quota : undefined;
  });
  assert.equal(after.metadata?.uid, before.metadata?.uid, "updated in place");
  await eventually(
    "pro Pod Security labels",
    async () =>
      (await env.namespace("ns-t"))?.metadata?.labels?.["pod-security.kubernetes.io/enforce"] ===
        "baseline",
  );
  await env.waitForCondition("t", "TenantReady", "True");
  await quotas.patch("kleff-quota", { spec: { hard: { pods: "1000", "count/secrets": "5" } } }, {
    namespace: "ns-t",
  });
  await eventually("quota restored", async () => {
    const hard = (await quotas.get("kleff-quota", { namespace: "ns-t" })).spec?.hard;
    return hard?.pods === "100" && hard["count/secrets"] === undefined;
  });
  const seen = env.reconciles();
  const restored = await quotas.get("kleff-quota", { namespace: "ns-t" });
  const equivalent = await quotas.patch("kleff-quota", {
    spec: { hard: { "requests.cpu": "8000m", "requests.memory": "16384Mi" } },
  }, { namespace: "ns-t" });
  // kube-apiserver stores quantities canonically: there the patch changes nothing and no event
  // comes. The dev API server keeps the new spelling, which the operator must leave alone.
  const changed = equivalent.metadata?.resourceVersion !== restored.metadata?.resourceVersion;
  await env.settled(changed ? { reconcilesAfter: seen } : {});
  const kept = await quotas.get("kleff-quota", { namespace: "ns-t" });
  assert.equal(
    kept.metadata?.resourceVersion,
    equivalent.metadata?.resourceVersion,
    "not rewritten",
  );
  await env.namespaces.patch("ns-t", {
    metadata: { labels: { "pod-security.kubernetes.io/enforce": "privileged" } },
  });
  await eventually(
    "Pod Security level put back",
    async () =>
      (await env.namespace("ns-t"))?.metadata?.labels?.["pod-security.kubernetes.io/enforce"] ===
        "baseline",
  );
});

const catalogue = (plans: Record<string, unknown>) => JSON.stringify({ plans });

Deno.test("catalogue ConfigMap: unknown plan fails closed, edits reconcile affected tenants, bad edits are refused", async () => {
  await using env = await OperatorEnv.start({ operator: false, plansRole: true });
  const maps = env.client.resource<ConfigMap>(configMaps);
  const small = {
    resourceQuota: { pods: "2", "requests.cpu": "100m" },
    limitRange: { container: { default: { cpu: "100m" } } },
  };
  await maps.create({
    metadata: { name: "plans", namespace: "kleff-system" },
    data: { "plans.yaml": catalogue({ small }) },
  });
  const source = { kind: "configMap" as const, namespace: "kleff-system", name: "plans" };
  env.startOperator({ plans: await loadPlans(source, env.client) });
  await env.createTenant("a", { userId: "ns-a", username: "a", plan: "small" });
  await env.createTenant("b", { userId: "ns-b", username: "b", plan: "gold" });
  await env.waitForCondition("a", "TenantReady", "True");
  const unknown = await env.waitForCondition("b", "ResourcesReady", "False", "UnknownPlan");
  assert.match(unknown.message ?? "", /"gold".*known: small/);
  assert.equal((await env.condition("b", "TenantReady"))?.reason, "UnknownPlan");
  const quotas = env.client.resource<ResourceQuota>(resourceQuotas);
  const lockdown = await quotas.get("kleff-quota", { namespace: "ns-b" });
  assert.equal(lockdown.spec?.hard?.pods, "0");
  assert.equal(lockdown.spec?.hard?.["requests.cpu"], "0");
  const events = await env.client.request<{ items: { reason: string; type: string }[] }>({
    path: "/api/v1/namespaces/default/events",
    query: { fieldSelector: "involvedObject.name=b" },
  });
  assert.ok(
    events.items.some((event) => event.type === "Warning" && event.reason === "UnknownPlan"),
  );
  assert.equal(
    (await env.namespace("ns-b"))?.metadata?.labels?.["pod-security.kubernetes.io/enforce"],
    "restricted",
    "an unknown plan gets the strictest Pod Security level",
  );

  await maps.patch("plans", {
    data: { "plans.yaml": "plans:\n  small:\n    resourceQuota: {pods: lots}\n" },
  }, {
    namespace: "kleff-system",
  });
  const warning = await eventually("a Warning Event on the ConfigMap", async () => {
    const list = await env.client.request<
      { items: { reason: string; type: string; message: string }[] }
    >({
      path: "/api/v1/namespaces/kleff-system/events",
      query: { fieldSelector: "involvedObject.name=plans" },
    });
    return list.items.find((event) => event.reason === "InvalidPlanCatalogue");
  });
  assert.equal(warning.type, "Warning");
  assert.match(warning.message, /plan "small": resourceQuota\.pods: must be a quantity/);
  await env.settled();
  assert.equal(
    (await quotas.get("kleff-quota", { namespace: "ns-a" })).spec?.hard?.pods,
    "2",
    "last good catalogue kept",
  );

  const smallWithoutLimits = { resourceQuota: small.resourceQuota };
  await maps.patch("plans", {
    data: {
      "plans.yaml": catalogue({
        small: smallWithoutLimits,
        gold: { resourceQuota: { pods: "50" } },
      }),
    },
  }, { namespace: "kleff-system" });
  await env.waitForCondition("b", "TenantReady", "True");
  assert.deepEqual((await quotas.get("kleff-quota", { namespace: "ns-b" })).spec?.hard, {
    pods: "50",
  });
  await eventually("the LimitRange the plan no longer asks for is removed", async () => {
    const items =
      (await env.client.resource<LimitRange>(limitRanges).list({ namespace: "ns-a" })).items;
    return items.length === 0;
  });
  await env.waitForCondition("a", "TenantReady", "True");
});
