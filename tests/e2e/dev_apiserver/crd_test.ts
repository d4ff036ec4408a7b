// The dev API server's CustomResourceDefinitions: establishment, scopes, CRD validation, and schema,
// CEL and status-subresource rules on the objects they serve.
import assert from "node:assert/strict";
import { api, createWidgetCrd, widget, WIDGET_CRD, WIDGETS, withServer } from "./support.ts";

const CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

Deno.test("crd: created CRDs are Established and served right away", async () => {
  await withServer(async (server) => {
    const before = await api(server, "GET", WIDGETS);
    assert.equal(before.status, 404);
    await createWidgetCrd(server);
    const crd = await api(server, "GET", `${CRDS}/widgets.example.kleff.io`);
    const conditions = Object.fromEntries(
      crd.body.status.conditions.map((c: { type: string; status: string }) => [c.type, c.status]),
    );
    assert.equal(conditions.Established, "True");
    assert.equal(conditions.NamesAccepted, "True");
    assert.equal(crd.body.status.acceptedNames.kind, "Widget");
    assert.equal(crd.body.status.acceptedNames.listKind, "WidgetList");
    const created = await api(server, "POST", WIDGETS, widget("w1"));
    assert.equal(created.status, 201);
    assert.equal(created.body.metadata.generation, 1);
    const list = await api(server, "GET", WIDGETS);
    assert.equal(list.body.kind, "WidgetList");
    assert.equal(list.body.items.length, 1);
    const all = await api(server, "GET", "/apis/example.kleff.io/v1/widgets");
    assert.equal(all.body.items.length, 1);
  });
});

Deno.test("crd: a cluster-scoped CRD serves cluster-scoped objects", async () => {
  await withServer(async (server) => {
    const crd = structuredClone(WIDGET_CRD);
    crd.spec.scope = "Cluster";
    assert.equal((await api(server, "POST", CRDS, crd)).status, 201);
    const created = await api(server, "POST", "/apis/example.kleff.io/v1/widgets", widget("c1"));
    assert.equal(created.status, 201);
    assert.equal(created.body.metadata.namespace, undefined);
    const namespaced = await api(server, "GET", WIDGETS);
    assert.equal(namespaced.status, 404);
  });
});

Deno.test("crd: invalid CRDs are rejected with field causes", async () => {
  await withServer(async (server) => {
    const crd = structuredClone(WIDGET_CRD);
    crd.metadata.name = "wrong.example.kleff.io";
    const bad = await api(server, "POST", CRDS, crd);
    assert.equal(bad.status, 422);
    assert.equal(bad.body.details.causes[0].field, "metadata.name");
  });
});

Deno.test("crd: the schema is enforced with one cause per bad field", async () => {
  await withServer(async (server) => {
    await createWidgetCrd(server);
    const bad = await api(server, "POST", WIDGETS, {
      ...widget("bad"),
      spec: { size: 50, color: "pink", tags: ["a", "b", "c"] },
    });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.reason, "Invalid");
    assert.equal(bad.body.details.kind, "Widget");
    assert.equal(bad.body.details.group, "example.kleff.io");
    // kube adds a "<nil>" cause saying the CEL rules were skipped because the object was invalid
    const fields = bad.body.details.causes.map((c: { field: string }) => c.field).filter((
      f: string,
    ) => f !== "<nil>").sort();
    assert.deepEqual(fields, ["spec.color", "spec.size", "spec.tags"]);
    assert.match(bad.body.message, /^Widget.example.kleff.io "bad" is invalid: \[/);
    assert.match(
      bad.body.message,
      /spec.color: Unsupported value: "pink": supported values: "red", "green", "blue"/,
    );
    const missing = await api(server, "POST", WIDGETS, { ...widget("m"), spec: { size: 2 } });
    assert.equal(missing.status, 422);
    assert.equal(missing.body.details.causes[0].field, "spec.color");
    assert.equal(missing.body.details.causes[0].reason, "FieldValueRequired");
  });
});

Deno.test("crd: unknown fields are pruned, or rejected with fieldValidation=Strict", async () => {
  await withServer(async (server) => {
    await createWidgetCrd(server);
    const pruned = await api(server, "POST", WIDGETS, {
      ...widget("p"),
      spec: { size: 1, color: "red", extra: 1 },
    });
    assert.equal(pruned.status, 201);
    assert.equal(pruned.body.spec.extra, undefined);
    assert.match(pruned.headers.get("warning") ?? "", /unknown field \\"spec.extra\\"/);
    const strict = await api(server, "POST", `${WIDGETS}?fieldValidation=Strict`, {
      ...widget("s"),
      spec: { size: 1, color: "red", extra: 1 },
    });
    assert.equal(strict.status, 400);
    assert.match(strict.body.message, /strict decoding error: unknown field "spec.extra"/);
  });
});

Deno.test("crd: status subresource splits writes and generation bumps on spec changes only", async () => {
  await withServer(async (server) => {
    await createWidgetCrd(server);
    const created = await api(server, "POST", WIDGETS, {
      ...widget("w"),
      status: { phase: "Ignored" },
    });
    assert.equal(created.body.status, undefined, "status is dropped on create");
    const status = await api(server, "PUT", `${WIDGETS}/w/status`, {
      ...created.body,
      spec: { size: 9, color: "blue" },
      status: { phase: "Ready" },
    });
    assert.equal(status.status, 200);
    assert.equal(status.body.status.phase, "Ready");
    assert.equal(status.body.spec.size, 1, "status writes ignore spec");
    assert.equal(status.body.metadata.generation, 1);
    const main = await api(server, "PUT", `${WIDGETS}/w`, {
      ...status.body,
      spec: { size: 2, color: "red" },
      status: { phase: "Overwritten" },
    });
    assert.equal(main.body.status.phase, "Ready", "main writes ignore status");
    assert.equal(main.body.metadata.generation, 2);
    const labels = await api(server, "PATCH", `${WIDGETS}/w`, { metadata: { labels: { a: "b" } } });
    assert.equal(labels.body.metadata.generation, 2, "metadata changes keep the generation");
    const statusPatch = await api(server, "PATCH", `${WIDGETS}/w/status`, {
      status: { phase: "Done" },
    });
    assert.equal(statusPatch.body.status.phase, "Done");
    assert.equal(statusPatch.body.metadata.generation, 2);
    const noRv = await api(server, "PUT", `${WIDGETS}/w`, { ...widget("w") });
    assert.equal(noRv.status, 422, "custom resources need a resourceVersion on update");
  });
});

Deno.test("crd: transition rules self == oldSelf are enforced on update", async () => {
  await withServer(async (server) => {
    await createWidgetCrd(server);
    await api(server, "POST", WIDGETS, widget("w", { owner: "alice" }));
    const changed = await api(server, "PATCH", `${WIDGETS}/w`, { spec: { owner: "bob" } });
    assert.equal(changed.status, 422);
    assert.equal(changed.body.details.causes[0].field, "spec.owner");
    assert.match(changed.body.details.causes[0].message, /owner is immutable/);
    const same = await api(server, "PATCH", `${WIDGETS}/w`, { spec: { size: 3 } });
    assert.equal(same.status, 200);
  });
});

Deno.test("crd: strategic merge patches are refused for custom resources like kube does", async () => {
  await withServer(async (server) => {
    await createWidgetCrd(server);
    await api(server, "POST", WIDGETS, widget("w"));
    const patched = await api(server, "PATCH", `${WIDGETS}/w`, { spec: { size: 2 } }, {
      "content-type": "application/strategic-merge-patch+json",
    });
    assert.equal(patched.status, 415);
  });
});

Deno.test("crd: deleting a CRD removes its kind and objects, waiting for their finalizers", async () => {
  await withServer(async (server) => {
    await createWidgetCrd(server);
    await api(server, "POST", WIDGETS, widget("plain"));
    await api(server, "POST", WIDGETS, {
      ...widget("held"),
      metadata: { name: "held", finalizers: ["example.com/x"] },
    });
    const deleted = await api(server, "DELETE", `${CRDS}/widgets.example.kleff.io`);
    assert.equal(deleted.status, 200);
    const crd = await api(server, "GET", `${CRDS}/widgets.example.kleff.io`);
    assert.ok(crd.body.metadata.deletionTimestamp);
    assert.ok(crd.body.status.conditions.some((c: { type: string }) => c.type === "Terminating"));
    const held = await api(server, "GET", `${WIDGETS}/held`);
    assert.ok(held.body.metadata.deletionTimestamp);
    assert.equal((await api(server, "GET", `${WIDGETS}/plain`)).status, 404);
    const refused = await api(server, "POST", WIDGETS, widget("new"));
    assert.equal(refused.status, 405);
    await api(server, "PATCH", `${WIDGETS}/held`, { metadata: { finalizers: null } });
    assert.equal((await api(server, "GET", `${CRDS}/widgets.example.kleff.io`)).status, 404);
    assert.equal((await api(server, "GET", WIDGETS)).status, 404);
    await createWidgetCrd(server);
    const fresh = await api(server, "GET", WIDGETS);
    assert.equal(fresh.body.items.length, 0, "objects do not come back with a new CRD");
  });
});
