// Object CRUD on the dev API server: metadata it sets, optimistic concurrency and the three patch
// types.
import assert from "node:assert/strict";
import { api, withServer } from "./support.ts";

const CM = "/api/v1/namespaces/default/configmaps";

function assertStatus(
  // deno-lint-ignore no-explicit-any
  response: { status: number; body: any },
  code: number,
  reason: string,
): void {
  assert.equal(response.status, code, JSON.stringify(response.body));
  assert.equal(response.body.kind, "Status");
  assert.equal(response.body.apiVersion, "v1");
  assert.deepEqual(response.body.metadata, {});
  assert.equal(response.body.status, "Failure");
  assert.equal(response.body.reason, reason);
  assert.equal(response.body.code, code);
}

Deno.test("objects: default namespaces exist at start", async () => {
  await withServer(async (server) => {
    const list = await api(server, "GET", "/api/v1/namespaces");
    const names = list.body.items.map((n: { metadata: { name: string } }) => n.metadata.name);
    for (const name of ["default", "kube-system", "kube-public"]) assert.ok(names.includes(name));
    const ns = await api(server, "GET", "/api/v1/namespaces/default");
    assert.deepEqual(ns.body.spec.finalizers, ["kubernetes"]);
    assert.equal(ns.body.status.phase, "Active");
  });
});

Deno.test("objects: create sets uid, timestamps and increasing resourceVersions", async () => {
  await withServer(async (server) => {
    const a = await api(server, "POST", CM, { metadata: { name: "a" }, data: { k: "v" } });
    assert.equal(a.status, 201);
    assert.equal(a.body.apiVersion, "v1");
    assert.equal(a.body.kind, "ConfigMap");
    assert.match(a.body.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.match(a.body.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const b = await api(server, "POST", "/api/v1/namespaces/kube-system/configmaps", {
      metadata: { name: "b" },
    });
    assert.ok(Number(b.body.metadata.resourceVersion) > Number(a.body.metadata.resourceVersion));
    const got = await api(server, "GET", `${CM}/a`);
    assert.deepEqual(got.body, a.body);
    const again = await api(server, "POST", CM, { metadata: { name: "a" } });
    assertStatus(again, 409, "AlreadyExists");
    assert.equal(again.body.message, 'configmaps "a" already exists');
    assert.deepEqual(again.body.details, { name: "a", kind: "configmaps" }, "no empty group");
    const generated = await api(server, "POST", CM, { metadata: { generateName: "gen-" } });
    assert.match(generated.body.metadata.name, /^gen-[a-z0-9]{5}$/);
  });
});

Deno.test("objects: update with a stale resourceVersion is a 409 Conflict", async () => {
  await withServer(async (server) => {
    const created = await api(server, "POST", CM, { metadata: { name: "a" }, data: { k: "1" } });
    const updated = await api(server, "PUT", `${CM}/a`, { ...created.body, data: { k: "2" } });
    assert.equal(updated.status, 200);
    assert.equal(updated.body.data.k, "2");
    assert.equal(updated.body.metadata.uid, created.body.metadata.uid);
    const stale = await api(server, "PUT", `${CM}/a`, { ...created.body, data: { k: "3" } });
    assertStatus(stale, 409, "Conflict");
    assert.equal(
      stale.body.message,
      'Operation cannot be fulfilled on configmaps "a": the object has been modified; please apply your changes to the latest version and try again',
    );
    const missing = await api(server, "PUT", `${CM}/zzz`, { metadata: { name: "zzz" } });
    assertStatus(missing, 404, "NotFound");
    assert.equal(missing.body.message, 'configmaps "zzz" not found');
    const renamed = await api(server, "PUT", `${CM}/a`, { metadata: { name: "b" } });
    assertStatus(renamed, 400, "BadRequest");
    const same = await api(server, "PUT", `${CM}/a`, updated.body);
    assert.equal(
      same.body.metadata.resourceVersion,
      updated.body.metadata.resourceVersion,
      "no-op update keeps rv",
    );
  });
});

Deno.test("objects: merge, JSON and strategic merge patches", async () => {
  await withServer(async (server) => {
    await api(server, "POST", CM, {
      metadata: { name: "a", labels: { x: "1" } },
      data: { a: "1", b: "2" },
    });
    const merge = await api(server, "PATCH", `${CM}/a`, { data: { b: null, c: "3" } });
    assert.deepEqual(merge.body.data, { a: "1", c: "3" });
    const json = await api(server, "PATCH", `${CM}/a`, [{
      op: "replace",
      path: "/data/a",
      value: "9",
    }], {
      "content-type": "application/json-patch+json",
    });
    assert.equal(json.body.data.a, "9");
    const failedTest = await api(server, "PATCH", `${CM}/a`, [{
      op: "test",
      path: "/data/a",
      value: "0",
    }], {
      "content-type": "application/json-patch+json",
    });
    assert.ok(failedTest.status === 422 || failedTest.status === 400, String(failedTest.status));
    assert.equal(failedTest.body.kind, "Status");
    assert.deepEqual(failedTest.body.details.causes, [{
      reason: "UnexpectedServerResponse",
      message: "testing value /data/a failed: test failed",
    }]);
    const strategic = await api(server, "PATCH", `${CM}/a`, { metadata: { labels: { y: "2" } } }, {
      "content-type": "application/strategic-merge-patch+json",
    });
    assert.deepEqual(strategic.body.metadata.labels, { x: "1", y: "2" });
    const stale = await api(server, "PATCH", `${CM}/a`, {
      metadata: { resourceVersion: "1" },
      data: { z: "1" },
    });
    assertStatus(stale, 409, "Conflict");
    const unknownType = await api(server, "PATCH", `${CM}/a`, "{}", {
      "content-type": "application/x-yaml",
    });
    assertStatus(unknownType, 415, "UnsupportedMediaType");
    const missing = await api(server, "PATCH", `${CM}/nope`, { data: {} });
    assertStatus(missing, 404, "NotFound");
  });
});

Deno.test("objects: bad input gets kube-style Status errors and the server survives", async () => {
  await withServer(async (server) => {
    const invalidJson = await api(server, "POST", CM, "{not json", {
      "content-type": "application/json",
    });
    assertStatus(invalidJson, 400, "BadRequest");
    const wrongType = await api(server, "POST", CM, "a=b", { "content-type": "text/plain" });
    assertStatus(wrongType, 415, "UnsupportedMediaType");
    const unknown = await api(server, "GET", "/api/v1/widgets");
    assertStatus(unknown, 404, "NotFound");
    assert.equal(unknown.body.message, "the server could not find the requested resource");
    const method = await api(server, "POST", `${CM}/a`, { metadata: { name: "a" } });
    assertStatus(method, 405, "MethodNotAllowed");
    const badName = await api(server, "POST", CM, { metadata: { name: "Bad_Name" } });
    assertStatus(badName, 422, "Invalid");
    assert.equal(badName.body.details.causes[0].field, "metadata.name");
    assert.match(
      badName.body.message,
      /^ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
    );
    const badNs = await api(server, "POST", "/api/v1/namespaces", { metadata: { name: "a.b" } });
    assertStatus(badNs, 422, "Invalid");
    assert.match(badNs.body.message, /RFC 1123 label/);
    const noName = await api(server, "POST", CM, { metadata: {} });
    assertStatus(noName, 422, "Invalid");
    const badLabel = await api(server, "POST", CM, {
      metadata: { name: "l", labels: { "a b": "c" } },
    });
    assertStatus(badLabel, 422, "Invalid");
    const missingNs = await api(server, "POST", "/api/v1/namespaces/nope/configmaps", {
      metadata: { name: "a" },
    });
    assertStatus(missingNs, 404, "NotFound");
    assert.equal(missingNs.body.message, 'namespaces "nope" not found');
    const wrongNs = await api(server, "POST", CM, {
      metadata: { name: "a", namespace: "kube-system" },
    });
    assertStatus(wrongNs, 400, "BadRequest");
    const ok = await api(server, "GET", "/version");
    assert.equal(ok.status, 200);
  });
});

Deno.test("objects: secrets turn stringData into data; dryRun does not persist", async () => {
  await withServer(async (server) => {
    const secret = await api(server, "POST", "/api/v1/namespaces/default/secrets", {
      metadata: { name: "s" },
      stringData: { password: "héllo" },
    });
    assert.equal(secret.body.type, "Opaque");
    assert.equal(secret.body.data.password, "aMOpbGxv");
    assert.equal(secret.body.stringData, undefined);
    const dry = await api(server, "POST", `${CM}?dryRun=All`, { metadata: { name: "dry" } });
    assert.equal(dry.status, 201);
    const got = await api(server, "GET", `${CM}/dry`);
    assert.equal(got.status, 404);
  });
});

Deno.test("objects: every built-in kind can be created and listed", async () => {
  await withServer(async (server) => {
    const paths = [
      "/api/v1/namespaces/default/events",
      "/apis/events.k8s.io/v1/namespaces/default/events",
      "/api/v1/namespaces/default/serviceaccounts",
      "/api/v1/namespaces/default/resourcequotas",
      "/api/v1/namespaces/default/limitranges",
      "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies",
      "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
      "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
      "/apis/rbac.authorization.k8s.io/v1/clusterroles",
      "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
      "/apis/coordination.k8s.io/v1/namespaces/default/leases",
    ];
    for (const path of paths) {
      const name = path.includes("roles") ? "system:kleff-test" : "x";
      const created = await api(server, "POST", path, { metadata: { name } });
      assert.equal(created.status, 201, `${path}: ${JSON.stringify(created.body)}`);
      const list = await api(server, "GET", path);
      assert.equal(list.body.items.length, 1, path);
      assert.ok(list.body.kind.endsWith("List"));
    }
    const policy = await api(
      server,
      "GET",
      "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/x",
    );
    assert.equal(policy.body.metadata.generation, 1);
  });
});

Deno.test("objects: a body over kube's 3 MiB limit is refused with 413", async () => {
  await withServer(async (server) => {
    const big = "x".repeat(3 * 1024 * 1024);
    const created = await api(server, "POST", CM, { metadata: { name: "big" }, data: { big } });
    assertStatus(created, 413, "RequestEntityTooLarge");
    assert.equal(created.body.message, "Request entity too large: limit is 3145728");
    await api(server, "POST", CM, { metadata: { name: "small" } });
    const patched = await api(server, "PATCH", `${CM}/small`, { data: { big } });
    assertStatus(patched, 413, "RequestEntityTooLarge");
    const config = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "small" },
      data: { big },
    };
    const applied = await api(
      server,
      "PATCH",
      `${CM}/small?fieldManager=m`,
      JSON.stringify(config),
      {
        "content-type": "application/apply-patch+yaml",
      },
    );
    assertStatus(applied, 413, "RequestEntityTooLarge");
    assert.equal((await api(server, "GET", `${CM}/small`)).status, 200, "the server goes on");
  });
});
