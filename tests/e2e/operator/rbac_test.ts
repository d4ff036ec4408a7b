// Least privilege, proven: the operator runs as its service account against a
// dev API server in RBAC mode holding exactly the RBAC objects (and admission
// policies) of deploy/, so a missing permission or a refused write fails here,
// and a granted permission that nothing used is listed.
import assert from "node:assert/strict";
import type { ConfigMap, Event, Namespace } from "kubernetes-types/core/v1.d.ts";
import type { Lease } from "kubernetes-types/coordination/v1.d.ts";
import { configMaps, type KubeObject, leases } from "../../../lib/client/mod.ts";
import { EventReason } from "../../../lib/api/mod.ts";
import { grantedPermissions, rbacObjectsFrom } from "../../../dev_apiserver/auth/rbac.ts";
import { loadPlans } from "../../../lib/operator/plan_source.ts";
import { LeaderElector } from "../../../lib/leader/election.ts";
import { serveMetrics } from "../../../lib/operator/metrics_server.ts";
import {
  eventually,
  kubernetesHas,
  needsNamespaceDeletion,
  OPERATOR_USERNAME,
  OperatorEnv,
  sleep,
} from "../../support/operator_env.ts";

const PLANS_V1 = `plans:
  basic:
    resourceQuota: {pods: "5"}
    limitRange: {container: {default: {cpu: 100m}}}
    allowedRegistries: [registry.example.com/]
`;
const PLANS_V2 = `plans:
  basic:
    resourceQuota: {pods: "6"}
    network: {isolation: false}
  other:
    allowedRegistries: [registry.example.com/]
`;
const PLANS_V3 = `plans:
  basic:
    network: {isolation: false}
  other:
    allowedRegistries: [registry.example.com/]
`;

/** Hand edits of per-tenant objects, each to be put back. */
const DRIFT: [string, unknown][] = [
  ["/api/v1/namespaces/ns-a/resourcequotas/kleff-quota", { spec: { hard: { pods: "99" } } }],
  ["/api/v1/namespaces/ns-a/limitranges/kleff-limits", { spec: { limits: [] } }],
  ["/apis/networking.k8s.io/v1/namespaces/ns-a/networkpolicies/kleff-isolation", {
    spec: { policyTypes: ["Ingress"], egress: null },
  }],
  ["/apis/security.istio.io/v1/namespaces/ns-a/peerauthentications/kleff-mtls", {
    spec: { mtls: { mode: "PERMISSIVE" } },
  }],
  ["/apis/networking.istio.io/v1/namespaces/ns-a/sidecars/kleff-egress", {
    spec: { egress: [{ hosts: ["*/*"] }] },
  }],
  ["/apis/constraints.gatekeeper.sh/v1beta1/k8sallowedrepos/kleff-ns-a-k8sallowedrepos", {
    spec: { parameters: { repos: ["evil.example.com/"] } },
  }],
];

/** Per-tenant objects an older operator version could have left, to be pruned. */
const STALE: [string, { apiVersion: string; kind: string }][] = [
  ["/apis/networking.istio.io/v1/namespaces/ns-a/gateways", {
    apiVersion: "networking.istio.io/v1",
    kind: "Gateway",
  }],
  ["/apis/security.istio.io/v1/namespaces/ns-a/authorizationpolicies", {
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
  }],
  ["/apis/security.istio.io/v1/namespaces/ns-a/peerauthentications", {
    apiVersion: "security.istio.io/v1",
    kind: "PeerAuthentication",
  }],
  ["/apis/networking.istio.io/v1/namespaces/ns-a/sidecars", {
    apiVersion: "networking.istio.io/v1",
    kind: "Sidecar",
  }],
];

/** Prometheus's service-account token (monitoring/prometheus). */
const SCRAPER_TOKEN = "prometheus-token";

/** A token of the service account monitoring/prometheus from a real API server (TokenRequest). */
async function realServiceAccountToken(env: OperatorEnv): Promise<string> {
  await env.namespaces.create({ metadata: { name: "monitoring" } });
  await env.client.request({
    method: "POST",
    path: "/api/v1/namespaces/monitoring/serviceaccounts",
    body: { metadata: { name: "prometheus" } },
  });
  const request = await env.client.request<{ status: { token: string } }>({
    method: "POST",
    path: "/api/v1/namespaces/monitoring/serviceaccounts/prometheus/token",
    body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: {} },
  });
  return request.status.token;
}

/** Scrapes the operator's secure /metrics as Prometheus would, so the reviews it sends are used. */
async function scrapeSecureMetrics(env: OperatorEnv): Promise<void> {
  await env.grantMetricsReader();
  const token = env.apiServer === "real" ? await realServiceAccountToken(env) : SCRAPER_TOKEN;
  await using server = await serveMetrics({
    address: { hostname: "127.0.0.1", port: 0 },
    secure: true,
    metrics: () => env.metrics.expose(),
    reviewer: env.operatorClient,
  });
  using client = Deno.createHttpClient({ caCerts: [server.caPem!] });
  const response = await fetch(`https://127.0.0.1:${server.port}/metrics`, {
    client,
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(response.status, 200);
  assert.match(await response.text(), /^controller_runtime_reconcile_total/m);
}

Deno.test({
  name: "the operator works with exactly the RBAC of deploy/, and uses all of it",
  ...needsNamespaceDeletion(),
}, async () => {
  await using env = await OperatorEnv.start({
    operator: false,
    plansRole: true,
    // The operator works within deploy/'s admission policies where the server has them.
    admissionPolicies: kubernetesHas(30),
    server: {
      watchList: false,
      serviceAccountTokens: { [SCRAPER_TOKEN]: "monitoring/prometheus" },
    },
  });
  await env.installIntegrationCrds();
  const maps = env.client.resource<ConfigMap>(configMaps);
  await maps.create({
    metadata: { name: "kleff-plans", namespace: "kleff-system" },
    data: { "plans.yaml": PLANS_V1 },
  });
  const operator = env.operatorClient;
  await assert.rejects(
    operator.request({ path: "/api/v1/secrets" }),
    (error: { code?: number }) => error.code === 403,
    "the operator cannot read secrets",
  );

  const election = new LeaderElector(operator.resource<Lease>(leases), {
    namespace: "kleff-system",
    name: "kleff-tenant-operator",
    identity: "rbac-test",
    leaseDurationMs: 1500,
    renewDeadlineMs: 1000,
    retryPeriodMs: 200,
  });
  const source = { kind: "configMap" as const, namespace: "kleff-system", name: "kleff-plans" };
  env.startOperator({ plans: await loadPlans(source, operator), discoveryIntervalMs: 100 });
  const stop = new AbortController();
  // The scenario, not a wait: lead for 400 ms (renewing the Lease at the 200 ms retry period),
  // then hand it back, so the account's create, update and release of Leases are all exercised.
  const leading = election.run((signal) => sleep(400).then(() => void signal), stop.signal);

  await env.namespaces.create({ metadata: { name: "foreign" } });
  await env.createTenant("a", { userId: "ns-a", username: "a", plan: "basic" });
  await env.createTenant("b", { userId: "ns-b", username: "b", plan: "basic" });
  await env.createTenant("c", { userId: "foreign", username: "c", plan: "basic" });
  await env.createTenant("r", {
    userId: "ns-r",
    username: "r",
    plan: "basic",
    deletionPolicy: "Retain",
  });
  for (const name of ["a", "b", "r"]) await env.waitForCondition(name, "TenantReady", "True");
  await env.waitForCondition("c", "NamespaceReady", "False", "NamespaceConflict");
  // Twice, each time once the first Event is written: the second one bumps its count (get, patch).
  for (let round = 0; round < 2; round++) {
    await env.namespaces.patch("ns-a", { metadata: { labels: { "kleff.io/tenant-plan": "x" } } });
    await eventually("label restored", async () => {
      const labels = (await env.namespaces.get("ns-a")).metadata?.labels;
      return labels?.["kleff.io/tenant-plan"] === "basic";
    });
    await eventually("its Event written", async () => {
      const events = await env.client.request<{ items: Event[] }>({
        path: "/api/v1/namespaces/default/events",
      });
      return events.items.some((event) =>
        event.involvedObject.name === "a" && event.reason === EventReason.NamespaceUpdated &&
        (event.count ?? 1) > round
      );
    });
  }
  for (const [path, patch] of DRIFT) {
    const before = await env.client.request<{ spec: unknown }>({ path });
    await env.client.request({
      method: "PATCH",
      path,
      body: patch,
      contentType: "application/merge-patch+json",
    });
    await eventually(`${path} restored`, async () => {
      const after = await env.client.request<{ spec: unknown }>({ path });
      return JSON.stringify(after.spec) === JSON.stringify(before.spec);
    });
  }
  const uid = (await env.tenants.get("a")).metadata?.uid ?? "";
  for (const [path, kind] of STALE) {
    await env.client.request({
      method: "POST",
      path,
      body: {
        apiVersion: kind.apiVersion,
        kind: kind.kind,
        metadata: {
          name: "kleff-stale",
          labels: {
            "app.kubernetes.io/managed-by": "kleff-tenant-operator",
            "kleff.io/tenant": "a",
          },
          annotations: { "kleff.io/tenant-uid": uid },
        },
        spec: {},
      },
    });
  }
  for (const plans of [PLANS_V2, PLANS_V3]) {
    // Each catalogue takes effect (its tenants reconciled) before the next replaces it.
    const seen = env.reconciles();
    await maps.patch("kleff-plans", { data: { "plans.yaml": plans } }, {
      namespace: "kleff-system",
    });
    await env.settled({ reconcilesAfter: seen });
  }
  await maps.patch("kleff-plans", { data: { "plans.yaml": "plans: [broken" } }, {
    namespace: "kleff-system",
  });
  await eventually("per-tenant objects the plan dropped are deleted", async () => {
    const left = await Promise.all([
      "/api/v1/namespaces/ns-a/resourcequotas",
      "/api/v1/namespaces/ns-a/limitranges",
      "/apis/networking.k8s.io/v1/namespaces/ns-a/networkpolicies",
      "/apis/constraints.gatekeeper.sh/v1beta1/k8sallowedrepos",
      ...STALE.map(([path]) => path),
    ].map((path) => env.client.request<{ items: KubeObject[] }>({ path })));
    return left.every((list) =>
      list.items.every((item) =>
        item.metadata?.labels?.["kleff.io/tenant"] !== "a" ||
        ["kleff-gateway", "kleff-authz", "kleff-mtls", "kleff-egress"].includes(
          item.metadata?.name ?? "",
        )
      )
    );
  });
  await eventually("the Warning on the ConfigMap written", async () => {
    const warnings = await env.client.request<{ items: { reason: string }[] }>({
      path: "/api/v1/namespaces/kleff-system/events",
    });
    return warnings.items.some((event) => event.reason === "InvalidPlanCatalogue");
  });
  for (const name of ["a", "b", "c", "r"]) await env.tenants.delete(name);
  for (const name of ["a", "b", "c", "r"]) await env.waitForTenantGone(name, 15_000);
  const retained = await env.namespaces.get("ns-r") as Namespace;
  assert.equal(retained.metadata?.labels?.["kleff.io/orphaned"], "true");
  await scrapeSecureMetrics(env);
  stop.abort();
  await leading;
  await env.stopOperator();

  const rbac = rbacObjectsFrom(env.rbacObjects);
  const rules = [...rbac.clusterRoles, ...rbac.roles].flatMap((role) => role.rules ?? []);
  const used = env.usedPermissions(OPERATOR_USERNAME);
  const unused = [...grantedPermissions(rules)].filter((permission) => !used.has(permission));
  assert.deepEqual(unused, [], `granted in deploy/ but never used: ${unused.join(", ")}`);
});
