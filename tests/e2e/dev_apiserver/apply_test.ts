// Server-side apply and managedFields over HTTP: PATCH with application/apply-patch+yaml, its
// options and errors, conflicts, and the managedFields every write keeps.
import assert from "node:assert/strict";
import { api, createWidgetCrd, WIDGETS, withServer } from "./support.ts";

const CM = "/api/v1/namespaces/default/configmaps";
const APPLY = { "content-type": "application/apply-patch+yaml" };

function managers(
  object: { metadata: { managedFields?: { manager: string; operation: string }[] } },
) {
  return (object.metadata.managedFields ?? []).map((e) => `${e.manager}/${e.operation}`);
}

Deno.test("apply: creates, updates in place, and a repeated apply writes nothing", async () => {
  await withServer(async (server) => {
    const yaml =
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: {app: web}\ndata:\n  k: v\n";
    const created = await api(server, "PATCH", `${CM}/a?fieldManager=deployer`, yaml, APPLY);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.data, { k: "v" });
    assert.deepEqual(created.body.metadata.managedFields, [{
      manager: "deployer",
      operation: "Apply",
      apiVersion: "v1",
      time: created.body.metadata.managedFields[0].time,
      fieldsType: "FieldsV1",
      fieldsV1: { "f:data": { "f:k": {} }, "f:metadata": { "f:labels": { "f:app": {} } } },
    }]);
    const again = await api(server, "PATCH", `${CM}/a?fieldManager=deployer`, yaml, APPLY);
    assert.equal(again.status, 200);
    assert.equal(again.body.metadata.resourceVersion, created.body.metadata.resourceVersion);
    const json = JSON.stringify({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "a" },
      data: { k: "v2" },
    });
    const changed = await api(server, "PATCH", `${CM}/a?fieldManager=deployer`, json, APPLY);
    assert.equal(changed.status, 200);
    assert.deepEqual(changed.body.data, { k: "v2" });
    assert.equal(changed.body.metadata.labels, undefined, "the label no longer applied is pruned");
  });
});

Deno.test("apply: conflicts with other managers are 409s; force takes the fields over", async () => {
  await withServer(async (server) => {
    const config = (value: string) =>
      JSON.stringify({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "a" },
        data: { k: value },
      });
    await api(server, "PATCH", `${CM}/a?fieldManager=deployer`, config("1"), APPLY);
    await api(server, "PATCH", `${CM}/a?fieldManager=editor`, { data: { k: "2" } });
    const refused = await api(server, "PATCH", `${CM}/a?fieldManager=deployer`, config("3"), APPLY);
    assert.equal(refused.status, 409);
    assert.deepEqual(refused.body, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: 'Apply failed with 1 conflict: conflict with "editor" using v1: .data.k',
      reason: "Conflict",
      details: {
        causes: [{
          reason: "FieldManagerConflict",
          message: 'conflict with "editor" using v1',
          field: ".data.k",
        }],
      },
      code: 409,
    });
    const same = await api(server, "PATCH", `${CM}/a?fieldManager=deployer`, config("2"), APPLY);
    assert.equal(same.status, 200, "applying the value another manager set is no conflict");
    const forced = await api(
      server,
      "PATCH",
      `${CM}/a?fieldManager=deployer&force=True`,
      config("3"),
      APPLY,
    );
    assert.equal(forced.status, 200);
    assert.equal(forced.body.data.k, "3");
    assert.deepEqual(managers(forced.body), ["deployer/Apply"]);
  });
});

Deno.test("apply: kube's refusals of bad apply requests", async () => {
  await withServer(async (server) => {
    const config = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" } };
    const noManager = await api(server, "PATCH", `${CM}/a`, JSON.stringify(config), APPLY);
    assert.equal(noManager.status, 422);
    assert.equal(
      noManager.body.message,
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
    const forceMerge = await api(server, "PATCH", `${CM}/a?force=false`, { data: {} });
    assert.equal(forceMerge.status, 422);
    assert.match(
      forceMerge.body.message,
      /force: Forbidden: may not be specified for non-apply patch/,
    );
    const send = (body: unknown, query = "fieldManager=m") =>
      api(
        server,
        "PATCH",
        `${CM}/a?${query}`,
        typeof body === "string" ? body : JSON.stringify(body),
        APPLY,
      );
    const badYaml = await send("apiVersion: v1\nkind: [\n");
    assert.equal(badYaml.status, 400);
    assert.match(badYaml.body.message, /^error decoding YAML: /);
    const version = await send({ ...config, apiVersion: "v2" });
    assert.equal(version.status, 400);
    assert.equal(
      version.body.message,
      "Incorrect version specified in apply patch. Specified patch version: v2, expected: v1",
    );
    const withFields = await send({ ...config, metadata: { name: "a", managedFields: [] } });
    assert.equal(withFields.body.message, "metadata.managedFields must be nil");
    const renamed = await send({ ...config, metadata: { name: "b" } });
    assert.equal(
      renamed.body.message,
      "the name of the object (b) does not match the name on the URL (a)",
    );
    const elsewhere = await api(
      server,
      "PATCH",
      "/api/v1/namespaces/nope/configmaps/a?fieldManager=m",
      JSON.stringify(config),
      APPLY,
    );
    assert.equal(elsewhere.status, 404);
    assert.equal(elsewhere.body.message, 'namespaces "nope" not found');
    await send(config);
    const stale = await send({ ...config, metadata: { name: "a", resourceVersion: "1" } });
    assert.equal(stale.status, 409);
    const dry = await send({ ...config, data: { d: "1" } }, "fieldManager=m&dryRun=All");
    assert.equal(dry.body.data.d, "1");
    assert.equal(
      (await api(server, "GET", `${CM}/a`)).body.data,
      undefined,
      "a dry run stores nothing",
    );
  });
});

Deno.test("managedFields: every write files its changes under its manager", async () => {
  await withServer(async (server) => {
    const created = await api(server, "POST", CM, { metadata: { name: "a" }, data: { x: "1" } }, {
      "user-agent": "kubectl-like/1.0 (linux)",
    });
    assert.deepEqual(managers(created.body), ["kubectl-like/Update"]);
    assert.deepEqual(created.body.metadata.managedFields[0].fieldsV1, {
      "f:data": { ".": {}, "f:x": {} },
    });
    const replaced = await api(server, "PUT", `${CM}/a?fieldManager=replacer`, {
      metadata: { name: "a" },
      data: { x: "1", y: "2" },
    });
    assert.deepEqual(
      managers(replaced.body),
      ["kubectl-like/Update", "replacer/Update"],
      "PUT without managedFields keeps them",
    );
    const cleared = await api(server, "PATCH", `${CM}/a`, { metadata: { managedFields: [] } }, {
      "content-type": "application/merge-patch+json",
    });
    assert.equal(cleared.body.metadata.managedFields, undefined, "managedFields: [] clears them");
    const untracked = await api(server, "PATCH", `${CM}/a?fieldManager=later`, {
      data: { z: "1" },
    });
    assert.equal(untracked.body.metadata.managedFields, undefined, "until the next apply");
    const tooLong = await api(server, "POST", `${CM}?fieldManager=${"m".repeat(129)}`, {
      metadata: { name: "b" },
    });
    assert.equal(tooLong.status, 422);
    assert.equal(tooLong.body.details.kind, "CreateOptions");
  });
});

Deno.test("apply: custom resources, the status subresource and reset fields", async () => {
  await withServer(async (server) => {
    await createWidgetCrd(server);
    const widget = (spec: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      JSON.stringify({
        apiVersion: "example.kleff.io/v1",
        kind: "Widget",
        metadata: { name: "w" },
        spec,
        ...extra,
      });
    const created = await api(
      server,
      "PATCH",
      `${WIDGETS}/w?fieldManager=app`,
      widget({ size: 2, color: "red", tags: ["a"] }, { status: { phase: "Ignored" } }),
      APPLY,
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.status, undefined, "status through the main resource is not applied");
    assert.deepEqual(created.body.metadata.managedFields[0].fieldsV1, {
      "f:spec": { "f:color": {}, "f:size": {}, "f:tags": {} },
    });
    const status = await api(
      server,
      "PATCH",
      `${WIDGETS}/w/status?fieldManager=controller`,
      widget({ size: 9, color: "blue" }, { status: { phase: "Ready" } }),
      APPLY,
    );
    assert.equal(status.status, 200, JSON.stringify(status.body));
    assert.equal(status.body.status.phase, "Ready");
    assert.equal(status.body.spec.size, 2, "spec through the status subresource is not applied");
    const entry = status.body.metadata.managedFields.find((e: { manager: string }) =>
      e.manager === "controller"
    );
    assert.deepEqual(entry, {
      manager: "controller",
      operation: "Apply",
      apiVersion: "example.kleff.io/v1",
      time: entry.time,
      fieldsType: "FieldsV1",
      fieldsV1: { "f:status": { "f:phase": {} } },
      subresource: "status",
    });
    const invalid = await api(
      server,
      "PATCH",
      `${WIDGETS}/w?fieldManager=app`,
      widget({ size: 50, color: "red" }),
      APPLY,
    );
    assert.equal(invalid.status, 422, "applied objects are validated like any write");
    const missingStatus = await api(
      server,
      "PATCH",
      `${WIDGETS}/nope/status?fieldManager=c`,
      widget({}),
      APPLY,
    );
    assert.equal(missingStatus.status, 404);
  });
});

Deno.test("apply: kubectl's apply takes over fields its client-side apply set, and updates the annotation", async () => {
  await withServer(async (server) => {
    const LAST = "kubectl.kubernetes.io/last-applied-configuration";
    const original = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "a" },
      data: { k: "1" },
    };
    await api(server, "POST", `${CM}?fieldManager=kubectl-client-side-apply`, {
      ...original,
      metadata: { name: "a", annotations: { [LAST]: JSON.stringify(original) } },
    });
    const config = JSON.stringify({ ...original, data: { k: "2" } });
    const other = await api(server, "PATCH", `${CM}/a?fieldManager=someone`, config, APPLY);
    assert.equal(other.status, 409, "only kubectl's own apply may take them over");
    const applied = await api(server, "PATCH", `${CM}/a?fieldManager=kubectl`, config, APPLY);
    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    assert.equal(applied.body.data.k, "2");
    assert.equal(
      applied.body.metadata.annotations[LAST],
      '{"apiVersion":"v1","data":{"k":"2"},"kind":"ConfigMap","metadata":{"name":"a"}}\n',
    );
    await api(server, "PATCH", `${CM}/a?fieldManager=editor`, { data: { k: "3" } });
    const drifted = await api(
      server,
      "PATCH",
      `${CM}/a?fieldManager=kubectl`,
      JSON.stringify({ ...original, data: { k: "4" } }),
      APPLY,
    );
    assert.equal(drifted.status, 409, "a field changed since the last apply is a real conflict");
  });
});
