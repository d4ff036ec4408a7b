// Deletion on the dev API server: DELETE's answer per kind, finalizers, preconditions,
// deletecollection and the namespace lifecycle, as kube answers them.
import assert from "node:assert/strict";
import { api, createWidgetCrd, widget, WIDGETS, withServer } from "./support.ts";

const CM = "/api/v1/namespaces/default/configmaps";

Deno.test("deletion: finalizers hold objects with a deletionTimestamp until removed", async () => {
  await withServer(async (server) => {
    await api(server, "POST", CM, { metadata: { name: "a", finalizers: ["example.com/hold"] } });
    const deleted = await api(server, "DELETE", `${CM}/a`);
    assert.equal(deleted.status, 200);
    assert.ok(deleted.body.metadata.deletionTimestamp);
    assert.equal(deleted.body.metadata.deletionGracePeriodSeconds, 0);
    const again = await api(server, "DELETE", `${CM}/a`);
    assert.equal(again.body.metadata.deletionTimestamp, deleted.body.metadata.deletionTimestamp);
    const added = await api(server, "PATCH", `${CM}/a`, {
      metadata: { finalizers: ["example.com/hold", "example.com/new"] },
    });
    assert.equal(added.status, 422);
    assert.match(
      added.body.message,
      /no new finalizers can be added if the object is being deleted/,
    );
    const cleared = await api(server, "PATCH", `${CM}/a`, { metadata: { finalizers: null } });
    assert.equal(cleared.status, 200);
    assert.equal((await api(server, "GET", `${CM}/a`)).status, 404);
  });
});

Deno.test("deletion: preconditions on uid and resourceVersion give 409", async () => {
  await withServer(async (server) => {
    const created = await api(server, "POST", CM, { metadata: { name: "a" } });
    const wrongUid = await api(server, "DELETE", `${CM}/a`, { preconditions: { uid: "nope" } });
    assert.equal(wrongUid.status, 409);
    assert.equal(wrongUid.body.reason, "Conflict");
    assert.match(
      wrongUid.body.message,
      /^Operation cannot be fulfilled on ConfigMap "a": the UID in the precondition \(nope\) does not match the UID in record/,
    );
    const wrongRv = await api(server, "DELETE", `${CM}/a`, {
      preconditions: { resourceVersion: "1" },
    });
    assert.equal(wrongRv.status, 409);
    const ok = await api(server, "DELETE", `${CM}/a`, {
      kind: "DeleteOptions",
      apiVersion: "v1",
      propagationPolicy: "Background",
      preconditions: {
        uid: created.body.metadata.uid,
        resourceVersion: created.body.metadata.resourceVersion,
      },
    });
    assert.equal(ok.status, 200);
    assert.equal((await api(server, "DELETE", `${CM}/a`)).status, 404);
  });
});

Deno.test("deletion: deletecollection honours label selectors", async () => {
  await withServer(async (server) => {
    for (const [name, app] of [["a", "x"], ["b", "x"], ["c", "y"]]) {
      await api(server, "POST", CM, { metadata: { name, labels: { app } } });
    }
    const deleted = await api(server, "DELETE", `${CM}?labelSelector=app%3Dx`);
    assert.equal(deleted.status, 200);
    assert.equal(deleted.body.items.length, 2);
    const left = await api(server, "GET", CM);
    assert.deepEqual(left.body.items.map((i: { metadata: { name: string } }) => i.metadata.name), [
      "c",
    ]);
  });
});

Deno.test("deletion: no deletecollection of namespaces nor across all namespaces (405)", async () => {
  await withServer(async (server) => {
    await api(server, "POST", CM, { metadata: { name: "kept" } });
    for (const path of ["/api/v1/namespaces", "/api/v1/configmaps"]) {
      const denied = await api(server, "DELETE", path);
      assert.equal(denied.status, 405, path);
      assert.equal(denied.body.reason, "MethodNotAllowed", path);
    }
    assert.equal((await api(server, "GET", "/api/v1/namespaces/default")).status, 200);
    assert.equal((await api(server, "GET", `${CM}/kept`)).status, 200);
    assert.equal(
      (await api(server, "DELETE", "/api/v1/namespaces/default/configmaps")).status,
      200,
    );
    assert.equal((await api(server, "GET", `${CM}/kept`)).status, 404);
  });
});

Deno.test("deletion: a namespace terminates, waits for finalizers of its content, then goes", async () => {
  await withServer(async (server) => {
    await api(server, "POST", "/api/v1/namespaces", { metadata: { name: "team" } });
    const ns = await api(server, "GET", "/api/v1/namespaces/team");
    assert.equal(ns.body.metadata.labels["kubernetes.io/metadata.name"], "team");
    const path = "/api/v1/namespaces/team/configmaps";
    await api(server, "POST", path, { metadata: { name: "plain" } });
    await api(server, "POST", path, {
      metadata: { name: "held", finalizers: ["example.com/hold"] },
    });
    const deleted = await api(server, "DELETE", "/api/v1/namespaces/team");
    assert.equal(deleted.status, 200);
    assert.equal(deleted.body.status.phase, "Terminating");
    const terminating = await api(server, "GET", "/api/v1/namespaces/team");
    assert.equal(terminating.body.status.phase, "Terminating");
    const conditions = Object.fromEntries(
      terminating.body.status.conditions.map((
        c: { type: string; status: string },
      ) => [c.type, c.status]),
    );
    assert.equal(conditions.NamespaceContentRemaining, "True");
    assert.equal(conditions.NamespaceFinalizersRemaining, "True");
    assert.equal((await api(server, "GET", `${path}/plain`)).status, 404);
    assert.ok((await api(server, "GET", `${path}/held`)).body.metadata.deletionTimestamp);
    const refused = await api(server, "POST", path, { metadata: { name: "new" } });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.reason, "Forbidden");
    assert.equal(
      refused.body.message,
      'configmaps "new" is forbidden: unable to create new content in namespace team because it is being terminated',
    );
    await api(server, "PATCH", `${path}/held`, { metadata: { finalizers: [] } });
    assert.equal((await api(server, "GET", "/api/v1/namespaces/team")).status, 404);
    const missing = await api(server, "POST", path, { metadata: { name: "new" } });
    assert.equal(missing.status, 404);
  });
});

Deno.test("deletion: an empty namespace disappears right after its delete", async () => {
  await withServer(async (server) => {
    await api(server, "POST", "/api/v1/namespaces", { metadata: { name: "empty" } });
    const deleted = await api(server, "DELETE", "/api/v1/namespaces/empty");
    assert.equal(deleted.body.status.phase, "Terminating");
    assert.equal((await api(server, "GET", "/api/v1/namespaces/empty")).status, 404);
  });
});

Deno.test("deletion: DELETE answers per kind as kube's storage does", async () => {
  await withServer(async (server) => {
    await createWidgetCrd(server);
    const answers: Record<string, unknown> = {};
    const cases: [string, string, Record<string, unknown>][] = [
      ["configmaps", CM, {}],
      ["secrets", "/api/v1/namespaces/default/secrets", {}],
      ["networkpolicies", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies", {
        spec: { podSelector: {} },
      }],
      ["leases", "/apis/coordination.k8s.io/v1/namespaces/default/leases", {}],
      ["widgets", WIDGETS, widget("x")],
      ["serviceaccounts", "/api/v1/namespaces/default/serviceaccounts", {}],
      ["resourcequotas", "/api/v1/namespaces/default/resourcequotas", {}],
      ["namespaces", "/api/v1/namespaces", {}],
    ];
    for (const [resource, path, body] of cases) {
      const created = await api(server, "POST", path, { ...body, metadata: { name: "x" } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const deleted = await api(server, "DELETE", `${path}/x`);
      assert.equal(deleted.status, 200);
      if (deleted.body.kind === "Status") {
        const { uid, ...details } = deleted.body.details;
        assert.equal(uid, created.body.metadata.uid);
        answers[resource] = { ...deleted.body, details };
      } else {
        assert.equal(deleted.body.metadata.uid, created.body.metadata.uid);
        answers[resource] = deleted.body.kind;
      }
    }
    const success = (details: Record<string, unknown>) => ({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: { name: "x", ...details },
    });
    assert.deepEqual(answers.configmaps, success({ kind: "configmaps" }));
    assert.deepEqual(answers.secrets, success({ kind: "secrets" }));
    assert.deepEqual(
      answers.networkpolicies,
      success({ group: "networking.k8s.io", kind: "networkpolicies" }),
    );
    assert.deepEqual(answers.leases, success({ group: "coordination.k8s.io", kind: "leases" }));
    assert.deepEqual(answers.widgets, success({ group: "example.kleff.io", kind: "widgets" }));
    assert.equal(answers.serviceaccounts, "ServiceAccount");
    assert.equal(answers.resourcequotas, "ResourceQuota");
    assert.equal(answers.namespaces, "Namespace");
  });
});

Deno.test("deletion: a dry run answers as the deletion would, and deletes nothing", async () => {
  await withServer(async (server) => {
    await api(server, "POST", CM, { metadata: { name: "a" } });
    await api(server, "POST", CM, { metadata: { name: "held", finalizers: ["example.com/x"] } });
    const plain = await api(server, "DELETE", `${CM}/a?dryRun=All`);
    assert.equal(plain.body.kind, "Status");
    assert.equal(plain.body.status, "Success");
    const held = await api(server, "DELETE", `${CM}/held?dryRun=All`);
    assert.equal(held.body.kind, "ConfigMap");
    assert.ok(held.body.metadata.deletionTimestamp);
    assert.equal((await api(server, "GET", `${CM}/a`)).status, 200);
    const stored = await api(server, "GET", `${CM}/held`);
    assert.equal(stored.body.metadata.deletionTimestamp, undefined);
  });
});
