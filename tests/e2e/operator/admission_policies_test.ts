// deploy/'s ValidatingAdmissionPolicies against the identities an attacker would hold, on the dev
// API server in RBAC mode: a stolen operator token cannot touch namespaces or objects that are not
// a tenant's guard rails, a tenant admin cannot delete, weaken or disown them, while the operator's
// own writes and cluster admins pass.
import assert from "node:assert/strict";
import type { NetworkPolicy } from "kubernetes-types/networking/v1.d.ts";
import { type KubeClient, networkPolicies } from "../../../lib/client/mod.ts";
import { devOnly, eventually, needsKubernetes, OperatorEnv } from "../../support/operator_env.ts";

const TENANT_ADMIN_TOKEN = "tenant-admin-token";
const NAMESPACE_POLICY =
  /ValidatingAdmissionPolicy 'kleff-tenant-namespaces' with binding 'kleff-tenant-namespaces' denied request/;
const OBJECT_POLICY =
  /ValidatingAdmissionPolicy 'kleff-tenant-objects' with binding 'kleff-tenant-objects' denied request/;

/** Asserts that `attempt` is refused with 403 by the policy `message` names. */
async function refused(attempt: Promise<unknown>, message: RegExp, what: string): Promise<void> {
  await assert.rejects(attempt, (error: { code?: number; message?: string }) => {
    assert.equal(error.code, 403, what);
    assert.match(error.message ?? "", message, what);
    return true;
  });
}

/** A client for `path` requests as `client`. */
function call(client: KubeClient, method: string, path: string, body?: unknown) {
  return client.request({
    method,
    path,
    body,
    contentType: method === "PATCH" ? "application/merge-patch+json" : undefined,
  });
}

Deno.test({
  name: "a stolen operator token cannot touch kube-system or anything else that is not a tenant's",
  ...needsKubernetes(30, "ValidatingAdmissionPolicy"),
}, async () => {
  await using env = await OperatorEnv.start({ admissionPolicies: true });
  await env.namespaces.create({ metadata: { name: "foreign" } });
  await env.client.resource<NetworkPolicy>(networkPolicies).create({
    metadata: { name: "allow-all", namespace: "foreign" },
    spec: { podSelector: {}, ingress: [{}] },
  });
  const stolen = env.operatorClient;
  await refused(
    call(stolen, "DELETE", "/api/v1/namespaces/kube-system"),
    /namespaces "kube-system" is forbidden: .*the kleff tenant operator may delete only namespaces labelled app.kubernetes.io\/managed-by=kleff-tenant-operator/,
    "deleting kube-system",
  );
  await refused(
    call(stolen, "PATCH", "/api/v1/namespaces/kube-system", {
      metadata: { labels: { "app.kubernetes.io/managed-by": "kleff-tenant-operator" } },
    }),
    NAMESPACE_POLICY,
    "labelling kube-system as a tenant's",
  );
  await refused(
    call(stolen, "POST", "/api/v1/namespaces", { metadata: { name: "unlabelled" } }),
    /the kleff tenant operator may create only namespaces labelled/,
    "creating an unlabelled namespace",
  );
  await refused(
    call(
      stolen,
      "DELETE",
      "/apis/networking.k8s.io/v1/namespaces/foreign/networkpolicies/allow-all",
    ),
    OBJECT_POLICY,
    "deleting another namespace's network policy",
  );
  await refused(
    call(stolen, "POST", "/apis/networking.k8s.io/v1/namespaces/kube-system/networkpolicies", {
      metadata: { name: "kleff-isolation" },
      spec: { podSelector: {}, policyTypes: ["Ingress"] },
    }),
    OBJECT_POLICY,
    "isolating kube-system",
  );
  assert.ok(await env.namespace("kube-system"), "kube-system is still there");
  assert.equal(await env.namespace("unlabelled"), undefined);

  // The same token doing the operator's work passes: create, restore, change plan, delete, retain.
  await env.createTenant("a", { userId: "ns-a", username: "a", plan: "basic" });
  await env.createTenant("r", {
    userId: "ns-r",
    username: "r",
    plan: "basic",
    deletionPolicy: "Retain",
  });
  for (const name of ["a", "r"]) await env.waitForCondition(name, "TenantReady", "True");
  await env.tenants.patch("a", { spec: { plan: "pro" } });
  await eventually("plan pro applied", async () => {
    const labels = (await env.namespaces.get("ns-a")).metadata?.labels;
    return labels?.["kleff.io/tenant-plan"] === "pro";
  });
  for (const name of ["a", "r"]) await env.tenants.delete(name);
  for (const name of ["a", "r"]) await env.waitForTenantGone(name);
  await eventually("ns-a deleted", async () => (await env.namespace("ns-a")) === undefined);
  const retained = await env.namespaces.get("ns-r");
  assert.equal(retained.metadata?.labels?.["kleff.io/orphaned"], "true");
  await env.settled();
  assert.equal(env.metric("controller_runtime_reconcile_errors_total"), 0, "no write was refused");
});

Deno.test({
  name: "a tenant admin cannot delete, weaken or disown the guard rails of their namespace",
  ...devOnly("service-account tokens of its own, and ValidatingAdmissionPolicy"),
}, async () => {
  await using env = await OperatorEnv.start({
    admissionPolicies: true,
    server: { serviceAccountTokens: { [TENANT_ADMIN_TOKEN]: "ns-a/admin" } },
  });
  await env.createTenant("a", { userId: "ns-a", username: "a", plan: "basic" });
  await env.waitForCondition("a", "TenantReady", "True");
  // Admin rights in the namespace (as kube's "admin" role gives), and the right to edit its labels.
  const rbac = "/apis/rbac.authorization.k8s.io/v1";
  await call(env.client, "POST", `${rbac}/clusterroles`, {
    metadata: { name: "tenant-admin" },
    rules: [{
      apiGroups: ["", "networking.k8s.io", "networking.istio.io", "security.istio.io"],
      resources: ["*"],
      verbs: ["*"],
    }],
  });
  await call(env.client, "POST", `${rbac}/namespaces/ns-a/rolebindings`, {
    metadata: { name: "admin" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "tenant-admin" },
    subjects: [{ kind: "ServiceAccount", namespace: "ns-a", name: "admin" }],
  });
  await call(env.client, "POST", `${rbac}/clusterroles`, {
    metadata: { name: "ns-a-labels" },
    rules: [{
      apiGroups: [""],
      resources: ["namespaces"],
      resourceNames: ["ns-a"],
      verbs: ["get", "patch"],
    }],
  });
  await call(env.client, "POST", `${rbac}/clusterrolebindings`, {
    metadata: { name: "ns-a-labels" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "ns-a-labels" },
    subjects: [{ kind: "ServiceAccount", namespace: "ns-a", name: "admin" }],
  });
  const tenant = await env.clientWithToken(TENANT_ADMIN_TOKEN);
  try {
    const isolation = "/apis/networking.k8s.io/v1/namespaces/ns-a/networkpolicies/kleff-isolation";
    const before = await call(env.client, "GET", isolation) as NetworkPolicy;
    await refused(
      call(tenant, "DELETE", isolation),
      /networkpolicies.networking.k8s.io "kleff-isolation" is forbidden: .*kleff-isolation in tenant namespace ns-a belongs to the kleff tenant operator/,
      "deleting kleff-isolation",
    );
    await refused(
      call(tenant, "PATCH", isolation, { spec: { ingress: [{}], egress: [{}] } }),
      OBJECT_POLICY,
      "opening kleff-isolation",
    );
    await refused(
      call(tenant, "PATCH", isolation, {
        metadata: {
          labels: { "app.kubernetes.io/managed-by": null, "kleff.io/tenant": null },
          annotations: { "kleff.io/tenant-uid": null },
        },
      }),
      OBJECT_POLICY,
      "disowning kleff-isolation",
    );
    await refused(
      call(tenant, "DELETE", "/api/v1/namespaces/ns-a/resourcequotas/kleff-quota"),
      OBJECT_POLICY,
      "deleting kleff-quota",
    );
    await refused(
      call(tenant, "POST", "/apis/networking.k8s.io/v1/namespaces/ns-a/networkpolicies", {
        metadata: { name: "kleff-allow-all" },
        spec: { podSelector: {}, ingress: [{}] },
      }),
      OBJECT_POLICY,
      "creating an object under the operator's names",
    );
    await call(tenant, "POST", "/apis/networking.k8s.io/v1/namespaces/ns-a/networkpolicies", {
      metadata: { name: "allow-frontend" },
      spec: { podSelector: {}, ingress: [{}] },
    });
    const managed = { "app.kubernetes.io/managed-by": "kleff-tenant-operator" };
    await refused(
      call(tenant, "POST", "/apis/networking.k8s.io/v1/namespaces/ns-a/networkpolicies", {
        metadata: { name: "claims-managed", labels: managed },
        spec: { podSelector: {} },
      }),
      /claims-managed in tenant namespace ns-a: only the kleff tenant operator may label it app.kubernetes.io\/managed-by=kleff-tenant-operator/,
      "creating an object labelled as the operator's",
    );
    await refused(
      call(
        tenant,
        "PATCH",
        "/apis/networking.k8s.io/v1/namespaces/ns-a/networkpolicies/allow-frontend",
        { metadata: { labels: managed } },
      ),
      /allow-frontend in tenant namespace ns-a: only the kleff tenant operator may label it/,
      "labelling an own object as the operator's",
    );
    await refused(
      call(tenant, "PATCH", "/api/v1/namespaces/ns-a", {
        metadata: {
          labels: { "kleff.io/tenant": null, "pod-security.kubernetes.io/enforce": "privileged" },
        },
      }),
      /namespaces "ns-a" is forbidden: .*guard-rail labels and annotations of tenant namespace ns-a: label kleff.io\/tenant, label pod-security.kubernetes.io\/enforce/,
      "stripping the namespace's labels",
    );
    await call(tenant, "PATCH", "/api/v1/namespaces/ns-a", { metadata: { labels: { team: "x" } } });
    const after = await call(env.client, "GET", isolation) as NetworkPolicy;
    assert.deepEqual(after.spec, before.spec);
    assert.deepEqual(after.metadata?.labels, before.metadata?.labels);
    assert.equal(after.metadata?.resourceVersion, before.metadata?.resourceVersion);

    // A cluster admin passes, and the operator's own write puts the plan's version back.
    const seen = env.reconciles();
    await call(env.client, "PATCH", isolation, { spec: { ingress: [{}] } });
    await env.settled({ reconcilesAfter: seen });
    assert.deepEqual((await call(env.client, "GET", isolation) as NetworkPolicy).spec, before.spec);
    assert.equal(env.metric("controller_runtime_reconcile_errors_total"), 0);
  } finally {
    tenant.close();
  }
});
