// End-to-end: the operator against the dev API server, from create to teardown.
import assert from "node:assert/strict";
import type { ConfigMap } from "kubernetes-types/core/v1.d.ts";
import { configMaps, parseWatchStream } from "../../../lib/client/mod.ts";
import {
  eventually,
  needsNamespaceDeletion,
  OperatorEnv,
  readDeployYaml,
} from "../../support/operator_env.ts";

const MANAGED_LABELS = (tenant: string, username: string, plan: string) => ({
  "istio-injection": "enabled",
  "kleff.io/tenant-username": username,
  "kleff.io/tenant-plan": plan,
  "kleff.io/tenant": tenant,
  "app.kubernetes.io/managed-by": "kleff-tenant-operator",
});

/** The managed labels on a namespace (ignores kubernetes.io/metadata.name and others). */
function managed(labels: Record<string, string> | undefined): Record<string, string> {
  const keys = Object.keys(MANAGED_LABELS("", "", ""));
  return Object.fromEntries(Object.entries(labels ?? {}).filter(([key]) => keys.includes(key)));
}

Deno.test("the README example becomes TenantReady with its labelled, owned namespace", async () => {
  await using env = await OperatorEnv.start();
  const sample = await readDeployYaml<{ metadata: { name: string }; spec: unknown }>(
    "samples/example-tenant.yaml",
  );
  const created = await env.tenants.create(sample as never);
  const ready = await env.waitForCondition("example-tenant", "TenantReady", "True");
  assert.equal(ready.reason, "Ready");
  assert.equal(ready.observedGeneration, 1);
  assert.match(ready.lastTransitionTime ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const tenant = await env.tenants.get("example-tenant");
  assert.deepEqual(tenant.metadata?.finalizers, ["kleff.io/namespace-finalizer"]);
  assert.equal(tenant.status?.namespace, "user-12345");
  assert.equal(tenant.status?.observedGeneration, 1);
  const types = tenant.status?.conditions?.map((condition) => condition.type).sort();
  assert.deepEqual(types, ["NamespaceReady", "PoliciesReady", "ResourcesReady", "TenantReady"]);
  for (const condition of tenant.status?.conditions ?? []) {
    assert.equal(condition.status, "True");
    assert.ok(condition.reason && condition.message, "reason and message are set");
  }
  const namespace = await env.namespace("user-12345");
  assert.ok(namespace);
  assert.deepEqual(
    managed(namespace.metadata?.labels),
    MANAGED_LABELS("example-tenant", "exampleuser", "basic"),
  );
  assert.equal(namespace.metadata?.annotations?.["kleff.io/tenant-uid"], created.metadata?.uid);
  assert.equal(namespace.metadata?.ownerReferences, undefined, "no ownerReferences, ever");
  assert.equal(namespace.status?.phase, "Active");
});

Deno.test({
  name: "delete: the namespace is gone before the Tenant, and Events tell the story",
  ...needsNamespaceDeletion(),
}, async () => {
  await using env = await OperatorEnv.start();
  await env.createTenant("t1", { userId: "ns-t1", username: "u1", plan: "basic" });
  await env.waitForCondition("t1", "TenantReady", "True");
  const stream = await env.client.stream({
    path: "/api/v1/namespaces",
    query: { watch: 1, fieldSelector: "metadata.name=ns-t1" },
  });
  const tenantStream = await env.client.stream({
    path: "/apis/kleff.kleff.io/v1/tenants",
    query: { watch: 1, fieldSelector: "metadata.name=t1" },
  });
  const order: string[] = [];
  const collect = async (body: ReadableStream<Uint8Array>, kind: string) => {
    for await (const event of parseWatchStream(body)) {
      if (event.type === "DELETED") {
        order.push(kind);
        return;
      }
    }
  };
  const watching = Promise.all([collect(stream, "namespace"), collect(tenantStream, "tenant")]);
  await env.tenants.delete("t1");
  await env.waitForTenantGone("t1");
  await watching;
  assert.deepEqual(order, ["namespace", "tenant"]);
  assert.equal(await env.namespace("ns-t1"), undefined);
  // Events are written in the background: the last one lands after the finalizer came off.
  let reasons: string[] = [];
  await eventually("the Event of the namespace's deletion", async () => {
    const events = await env.client.request<{ items: { reason: string; type: string }[] }>({
      path: "/api/v1/namespaces/default/events",
      query: { fieldSelector: "involvedObject.name=t1" },
    });
    reasons = events.items.map((event) => event.reason);
    return reasons.includes("NamespaceDeleted");
  });
  assert.ok(reasons.includes("NamespaceCreated"), reasons.join());
});

Deno.test({
  name: "a namespace held by a finalizer inside keeps the Tenant Terminating until it clears",
  ...needsNamespaceDeletion(),
}, async () => {
  await using env = await OperatorEnv.start();
  await env.createTenant("held", { userId: "ns-held", username: "u", plan: "basic" });
  await env.waitForCondition("held", "TenantReady", "True");
  const maps = env.client.resource<ConfigMap>(configMaps);
  await maps.create({
    metadata: { name: "precious", namespace: "ns-held", finalizers: ["example.com/hold"] },
    data: { a: "b" },
  });
  await env.tenants.delete("held");
  const terminating = await env.waitForCondition("held", "TenantReady", "False", "Terminating");
  assert.match(terminating.message ?? "", /ns-held/);
  await eventually("a message naming what is left", async () => {
    const condition = await env.condition("held", "TenantReady");
    return /configmaps|finalizer|content|example\.com\/hold/i.test(condition?.message ?? "");
  });
  assert.ok(await env.namespace("ns-held"), "namespace still there");
  assert.ok(await env.tenants.get("held"), "tenant still there");
  await maps.patch("precious", { metadata: { finalizers: null } }, { namespace: "ns-held" });
  await env.waitForTenantGone("held");
  assert.equal(await env.namespace("ns-held"), undefined);
});

Deno.test("a foreign namespace is never adopted, modified or deleted", async () => {
  await using env = await OperatorEnv.start();
  const foreign = await env.namespaces.create({
    metadata: { name: "taken", labels: { team: "someone-else" } },
  });
  await env.createTenant("intruder", { userId: "taken", username: "u", plan: "basic" });
  const conflict = await env.waitForCondition(
    "intruder",
    "NamespaceReady",
    "False",
    "NamespaceConflict",
  );
  assert.match(conflict.message ?? "", /taken/);
  const summary = await env.condition("intruder", "TenantReady");
  assert.equal(summary?.status, "False");
  assert.equal(summary?.reason, "NamespaceConflict");
  await env.settled(); // the reconcile that reported the conflict writes its Event last
  const warnings = await env.client.request<{ items: { reason: string; type: string }[] }>({
    path: "/api/v1/namespaces/default/events",
    query: { fieldSelector: "involvedObject.name=intruder" },
  });
  assert.ok(
    warnings.items.some((event) =>
      event.type === "Warning" && event.reason === "NamespaceConflict"
    ),
  );
  await env.tenants.delete("intruder");
  await env.waitForTenantGone("intruder");
  const after = await env.namespace("taken");
  assert.equal(after?.metadata?.resourceVersion, foreign.metadata?.resourceVersion, "untouched");
  assert.equal(after?.status?.phase, "Active");
});

Deno.test("two tenants with one userId: the first keeps it, the second gets the conflict", async () => {
  await using env = await OperatorEnv.start();
  const first = await env.createTenant("first", { userId: "shared", username: "a", plan: "basic" });
  await env.waitForCondition("first", "TenantReady", "True");
  await env.createTenant("second", { userId: "shared", username: "b", plan: "pro" });
  await env.waitForCondition("second", "NamespaceReady", "False", "NamespaceConflict");
  const namespace = await env.namespace("shared");
  assert.equal(namespace?.metadata?.annotations?.["kleff.io/tenant-uid"], first.metadata?.uid);
  assert.equal(namespace?.metadata?.labels?.["kleff.io/tenant"], "first");
  await env.tenants.delete("second");
  await env.waitForTenantGone("second");
  const kept = await env.namespace("shared");
  assert.equal(kept?.status?.phase, "Active");
  assert.equal(kept?.metadata?.labels?.["kleff.io/tenant-username"], "a");
  assert.equal((await env.condition("first", "TenantReady"))?.status, "True");
});

Deno.test("plan and username changes relabel; manual label edits are restored, others kept", async () => {
  await using env = await OperatorEnv.start();
  await env.createTenant("t", { userId: "ns-t", username: "alice", plan: "basic" });
  await env.waitForCondition("t", "TenantReady", "True");
  await env.tenants.patch("t", { spec: { plan: "pro", username: "alice2" } });
  await eventually("relabelled namespace", async () => {
    const labels = (await env.namespace("ns-t"))?.metadata?.labels;
    return labels?.["kleff.io/tenant-plan"] === "pro" &&
      labels?.["kleff.io/tenant-username"] === "alice2";
  });
  const tenant = await env.tenants.get("t");
  await eventually("observedGeneration 2", async () => {
    const status = (await env.tenants.get("t")).status;
    return status?.observedGeneration === tenant.metadata?.generation;
  });
  await env.namespaces.patch("ns-t", {
    metadata: {
      labels: { "kleff.io/tenant-plan": "free", "istio-injection": null, "team": "mine" },
    },
  });
  await eventually("restored labels", async () => {
    const labels = (await env.namespace("ns-t"))?.metadata?.labels;
    return labels?.["kleff.io/tenant-plan"] === "pro" && labels?.["istio-injection"] === "enabled";
  });
  const labels = (await env.namespace("ns-t"))?.metadata?.labels;
  assert.equal(labels?.team, "mine", "labels the operator does not manage are left alone");
  assert.deepEqual(managed(labels), MANAGED_LABELS("t", "alice2", "pro"));
});

Deno.test({
  name: "a namespace deleted by hand is recreated",
  ...needsNamespaceDeletion(),
}, async () => {
  await using env = await OperatorEnv.start();
  await env.createTenant("t", { userId: "ns-gone", username: "u", plan: "basic" });
  await env.waitForCondition("t", "TenantReady", "True");
  const before = await env.namespace("ns-gone");
  await env.namespaces.delete("ns-gone");
  const again = await eventually("recreated namespace", async () => {
    const namespace = await env.namespace("ns-gone");
    return namespace && namespace.metadata?.uid !== before?.metadata?.uid &&
        namespace.status?.phase === "Active"
      ? namespace
      : undefined;
  });
  assert.equal(again.metadata?.labels?.["kleff.io/tenant"], "t");
  await env.waitForCondition("t", "TenantReady", "True");
});

Deno.test("Retain: the namespace stays, disowned, labelled orphaned, guard rails kept", async () => {
  await using env = await OperatorEnv.start();
  await env.createTenant("keep", {
    userId: "ns-keep",
    username: "u",
    plan: "basic",
    deletionPolicy: "Retain",
  });
  await env.waitForCondition("keep", "TenantReady", "True");
  await env.namespaces.patch("ns-keep", { metadata: { labels: { team: "mine" } } });
  await env.tenants.delete("keep");
  await env.waitForTenantGone("keep");
  const namespace = await env.namespace("ns-keep");
  assert.equal(namespace?.status?.phase, "Active");
  assert.equal(namespace?.metadata?.labels?.["kleff.io/orphaned"], "true");
  assert.equal(namespace?.metadata?.labels?.team, "mine");
  assert.deepEqual(managed(namespace?.metadata?.labels), { "istio-injection": "enabled" });
  assert.equal(namespace?.metadata?.annotations?.["kleff.io/tenant-uid"], undefined);
});

Deno.test("an operator restarted over ready tenants makes zero writes and reconciles none", async () => {
  await using env = await OperatorEnv.start();
  for (let i = 0; i < 20; i++) {
    await env.createTenant(`t${i}`, { userId: `ns-${i}`, username: `u${i}`, plan: "basic" });
  }
  for (let i = 0; i < 20; i++) await env.waitForCondition(`t${i}`, "TenantReady", "True");
  await env.settled();
  await env.stopOperator();
  env.counters.reset();
  env.startOperator();
  await eventually("the start-up audit", () => env.manager!.audits.count === 1);
  await env.settled();
  const requests = JSON.stringify(env.counters.snapshot());
  assert.deepEqual(env.manager!.audits.last, { tenants: 20, queued: 0 });
  assert.equal(env.reconciles(), 0, "every tenant audited as settled");
  assert.equal(env.writes(), 0, requests);
  // One streaming list per watch (Tenants, Namespaces, three per-tenant kinds), or one LIST each
  // on a server without streaming lists, besides discovery: nothing read per tenant.
  assert.ok(env.reads() <= 5, requests);
  assert.equal(env.reads("get"), 0, requests);
  // Metrics report every tenant from the watched status.
  assert.equal(env.metric('kleff_tenants{condition="TenantReady",status="True"}'), 20);
});

Deno.test({
  name: "a tenant deleted while the operator was down is cleaned up on start",
  ...needsNamespaceDeletion(),
}, async () => {
  await using env = await OperatorEnv.start();
  await env.createTenant("t", { userId: "ns-down", username: "u", plan: "basic" });
  await env.waitForCondition("t", "TenantReady", "True");
  await env.stopOperator();
  await env.tenants.delete("t");
  assert.ok((await env.tenants.get("t")).metadata?.deletionTimestamp);
  env.startOperator();
  await env.waitForTenantGone("t");
  assert.equal(await env.namespace("ns-down"), undefined);
});
