// End-to-end: what the operator does with specs that slipped past validation,
// faults from the API server, and Events.
import assert from "node:assert/strict";
import type { CustomResourceDefinition } from "kubernetes-types/apiextensions/v1.d.ts";
import type { ResourceQuota } from "kubernetes-types/core/v1.d.ts";
import { resourceQuotas } from "../../../lib/client/mod.ts";
import {
  devOnly,
  eventually,
  needsKubernetes,
  needsNamespaceDeletion,
  OperatorEnv,
  readDeployYaml,
} from "../../support/operator_env.ts";

/** The Tenant CRD as an older, laxer release might have had it: any spec goes. */
async function laxCrd(): Promise<CustomResourceDefinition> {
  const crd = await readDeployYaml<CustomResourceDefinition>("crd.yaml");
  const schema = crd.spec.versions[0].schema!.openAPIV3Schema!;
  schema.properties!.spec = {
    type: "object",
    "x-kubernetes-preserve-unknown-fields": true,
  } as never;
  schema.required = [];
  return crd;
}

Deno.test("specs that slipped past validation get InvalidSpec and no namespace", async () => {
  await using env = await OperatorEnv.start({ crd: await laxCrd() });
  const bad: Record<string, Record<string, unknown>> = {
    "bad-userid": { userId: "Not_A_Label", username: "u", plan: "basic" },
    "no-plan": { userId: "ns-no-plan", username: "u" },
    "wrong-types": { userId: 42, username: ["x"], plan: { a: 1 } },
    "bad-policy": { userId: "ns-bad-policy", username: "u", plan: "basic", deletionPolicy: "Keep" },
  };
  for (const [name, spec] of Object.entries(bad)) await env.createTenant(name, spec);
  for (const name of Object.keys(bad)) {
    const condition = await env.waitForCondition(name, "TenantReady", "False", "InvalidSpec");
    assert.ok(condition.message, `${name} says why`);
  }
  const names = (await env.namespaces.list()).items.map((namespace) => namespace.metadata?.name);
  const system = ["default", "kube-node-lease", "kube-public", "kube-system", "kleff-system"];
  assert.deepEqual(
    names.filter((name) => !system.includes(name ?? "")),
    [],
    "no tenant namespace was created",
  );
  await env.createTenant("good", { userId: "ns-good", username: "u", plan: "basic" });
  await env.waitForCondition("good", "TenantReady", "True");
  for (const name of Object.keys(bad)) await env.tenants.delete(name);
  for (const name of Object.keys(bad)) await env.waitForTenantGone(name);
});

Deno.test({
  name: "a userId changed after the namespace exists is refused; the old namespace stays",
  ...needsNamespaceDeletion(),
}, async () => {
  await using env = await OperatorEnv.start({ crd: await laxCrd() });
  await env.createTenant("mover", { userId: "ns-old", username: "u", plan: "basic" });
  await env.waitForCondition("mover", "TenantReady", "True");
  await env.tenants.patch("mover", { spec: { userId: "ns-new" } });
  const condition = await env.waitForCondition("mover", "NamespaceReady", "False", "InvalidSpec");
  assert.match(condition.message ?? "", /ns-old/);
  await env.settled();
  assert.equal(await env.namespace("ns-new"), undefined, "no second namespace");
  assert.equal((await env.namespace("ns-old"))?.status?.phase, "Active");
  assert.equal((await env.tenants.get("mover")).status?.namespace, "ns-old");
  await env.tenants.patch("mover", { spec: { userId: "ns-old" } });
  await env.waitForCondition("mover", "TenantReady", "True");
  await env.tenants.delete("mover");
  await env.waitForTenantGone("mover");
  assert.equal(await env.namespace("ns-old"), undefined, "the owned namespace is torn down");
});

Deno.test({
  name: "the CRD rejects an invalid Tenant and a userId change with field errors",
  ...needsKubernetes(25, "CRD validation rules"),
}, async () => {
  await using env = await OperatorEnv.start({ operator: false });
  await assert.rejects(
    env.createTenant("bad", { userId: "Bad_Name", username: "u", plan: "basic" }),
    (error: Error & { causes?: { field: string }[] }) => {
      assert.ok(error.causes?.some((cause) => cause.field === "spec.userId"), error.message);
      return true;
    },
  );
  await env.createTenant("t", { userId: "ns-t", username: "u", plan: "basic" });
  await assert.rejects(env.tenants.patch("t", { spec: { userId: "other" } }), /immutable/);
});

Deno.test({
  name: "faults injected during create, drift and delete still converge",
  ...devOnly("fault injection"),
}, async () => {
  await using env = await OperatorEnv.start();
  const { faults } = env.server;
  faults.failNext({ status: 500, verb: "create", resource: "namespaces", count: 2 });
  faults.failNext({
    status: 429,
    verb: "patch",
    resource: "tenants",
    count: 1,
    retryAfterSeconds: 1,
  });
  faults.failNext({ status: 409, verb: "patch", resource: "tenants/status", count: 1 });
  for (let i = 0; i < 5; i++) {
    await env.createTenant(`f${i}`, { userId: `ns-f${i}`, username: "u", plan: "basic" });
  }
  faults.dropWatches();
  for (let i = 0; i < 5; i++) {
    await env.waitForCondition(`f${i}`, "TenantReady", "True", undefined, 20_000);
  }
  faults.compact();
  faults.dropWatches();
  await env.namespaces.patch("ns-f0", { metadata: { labels: { "kleff.io/tenant-plan": "x" } } });
  await eventually("drift restored after a compaction", async () => {
    const labels = (await env.namespace("ns-f0"))?.metadata?.labels;
    return labels?.["kleff.io/tenant-plan"] === "basic";
  }, 20_000);
  faults.failNext({ status: 503, verb: "delete", resource: "namespaces", count: 2 });
  faults.setLatency(20);
  for (let i = 0; i < 5; i++) await env.tenants.delete(`f${i}`);
  for (let i = 0; i < 5; i++) await env.waitForTenantGone(`f${i}`, 20_000);
  faults.clear();
  for (let i = 0; i < 5; i++) assert.equal(await env.namespace(`ns-f${i}`), undefined);
});

Deno.test({
  name: "guard rails created and stripped while their watch was away are restored after its relist",
  ...devOnly("fault injection"),
}, async () => {
  await using env = await OperatorEnv.start();
  const { faults } = env.server;
  await env.createTenant("early", { userId: "ns-early", username: "u", plan: "basic" });
  await env.waitForCondition("early", "TenantReady", "True");
  await env.settled();
  // The namespace and quota watches come back only after 5 s; the Tenant watch at once.
  for (const resource of ["namespaces", "resourcequotas"]) {
    faults.failNext({ status: 429, verb: "watch", resource, count: 1, retryAfterSeconds: 5 });
  }
  faults.dropWatches();
  await env.createTenant("gap", { userId: "ns-gap", username: "u", plan: "basic" });
  await env.waitForCondition("gap", "TenantReady", "True");
  const audits = env.manager!.audits.count;
  // Both leave the managed selection before their watches ever saw them, then the history the
  // watches would resume from is gone: their relists show nothing about either.
  await env.namespaces.patch("ns-gap", {
    metadata: { labels: { "app.kubernetes.io/managed-by": null } },
  });
  await env.client.resource(resourceQuotas).patch("kleff-quota", {
    metadata: { labels: { "app.kubernetes.io/managed-by": null } },
    spec: { hard: { pods: "999" } },
  }, { namespace: "ns-gap" });
  faults.compact();
  await eventually("the stripped namespace and quota restored", async () => {
    const namespace = await env.namespace("ns-gap");
    const quota = await env.client.resource<ResourceQuota>(resourceQuotas).get("kleff-quota", {
      namespace: "ns-gap",
    });
    return namespace?.metadata?.labels?.["app.kubernetes.io/managed-by"] ===
        "kleff-tenant-operator" &&
      quota.metadata?.labels?.["app.kubernetes.io/managed-by"] === "kleff-tenant-operator" &&
      quota.spec?.hard?.pods !== "999";
  }, 20_000);
  assert.ok(env.manager!.audits.count > audits, "an audit pass found them");
});

Deno.test({
  name: "an API error is reported as a condition and a Warning Event, then recovers",
  ...devOnly("fault injection"),
}, async () => {
  await using env = await OperatorEnv.start();
  env.server.faults.failNext({ status: 500, verb: "create", resource: "namespaces", count: 1 });
  await env.createTenant("e", { userId: "ns-e", username: "u", plan: "basic" });
  await env.waitForCondition("e", "TenantReady", "True", undefined, 15_000);
  const events = await env.client.request<
    { items: { reason: string; type: string; message: string }[] }
  >({
    path: "/api/v1/namespaces/default/events",
    query: { fieldSelector: "involvedObject.name=e" },
  });
  const warning = events.items.find((event) => event.type === "Warning");
  assert.ok(warning, JSON.stringify(events.items));
  assert.equal(warning.reason, "ApiError");
  assert.match(warning.message, /create Namespace ns-e failed: 500/);
});

Deno.test({
  name: "a burst of new tenants loses none of their Events",
  // 500 namespaces: the real lane's one shared cluster would spend minutes deleting them.
  ...devOnly("fresh store per test (500 tenants at once)"),
}, async () => {
  await using env = await OperatorEnv.start({ operator: false });
  // Four Events each (namespace, resources, policies, ready): more than the first buffer held.
  const count = 500;
  const creates = [];
  for (let i = 0; i < count; i++) {
    creates.push(env.createTenant(`b${i}`, { userId: `ns-b${i}`, username: "u", plan: "basic" }));
  }
  await Promise.all(creates);
  env.startOperator({ concurrency: 8 });
  await eventually("every tenant Ready", async () => {
    const { items } = await env.tenants.list();
    return items.filter((tenant) =>
      tenant.status?.conditions?.some((c) => c.type === "TenantReady" && c.status === "True")
    ).length === count;
  }, 60_000);
  const reasons = ["NamespaceCreated", "ResourcesSynced", "PoliciesSynced", "Ready"];
  let byReason = new Map<string, number>();
  await eventually("every Event written", async () => {
    const { items } = await env.client.request<{ items: { reason: string }[] }>({
      path: "/api/v1/namespaces/default/events",
    });
    byReason = new Map();
    for (const event of items) byReason.set(event.reason, (byReason.get(event.reason) ?? 0) + 1);
    return reasons.every((reason) => byReason.get(reason) === count);
  }, 30_000).catch((error) => {
    throw new Error(`${error.message}: ${JSON.stringify([...byReason])}`);
  });
  assert.doesNotMatch(env.metrics!.expose(), /kleff_events_dropped_total\{/);
});

Deno.test("repeated events are aggregated and a no-op reconcile records none", async () => {
  await using env = await OperatorEnv.start();
  await env.namespaces.create({ metadata: { name: "blocked" } });
  await env.createTenant("c", { userId: "blocked", username: "u", plan: "basic" });
  await env.waitForCondition("c", "NamespaceReady", "False", "NamespaceConflict");
  await env.settled(); // the reconcile that reported the conflict writes its Event last
  for (let restart = 0; restart < 2; restart++) {
    await env.stopOperator();
    env.startOperator();
    await env.settled({ reconcilesAfter: 0 }); // the restart reconciled c
  }
  const events = await env.client.request<{ items: { reason: string; count?: number }[] }>({
    path: "/api/v1/namespaces/default/events",
    query: { fieldSelector: "involvedObject.name=c" },
  });
  const conflicts = events.items.filter((event) => event.reason === "NamespaceConflict");
  assert.equal(conflicts.length, 1, "one Event object for the repeated conflict");
  assert.equal(conflicts[0].count ?? 1, 1, "restarts over an unchanged state add no events");
  env.counters.reset();
  const seen = env.reconciles();
  await env.tenants.patch("c", { metadata: { labels: { touch: "1" } } });
  await env.settled({ reconcilesAfter: seen });
  assert.equal(env.counters.count({ verb: "create", resource: "events" }), 0);
  assert.equal(env.counters.count({ verb: "patch", resource: "events" }), 0);
  assert.equal(env.counters.count({ verb: "patch", resource: "tenants/status" }), 0);
});
