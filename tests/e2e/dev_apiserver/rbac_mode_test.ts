// The dev API server's RBAC mode: service-account tokens get what their bindings grant, no more.
import assert from "node:assert/strict";
import { startDevApiServer } from "../../../dev_apiserver/mod.ts";

Deno.test("RBAC mode: service accounts get exactly what their bindings grant", async () => {
  await using server = await startDevApiServer({
    tokens: ["admin-token"],
    authorization: "RBAC",
    serviceAccountTokens: { "sa-token": "ops/robot" },
  });
  const call = async (token: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(server.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  };
  assert.equal((await call("sa-token", "GET", "/version")).status, 200, "discovery is open");
  assert.equal((await call("sa-token", "GET", "/api/v1")).status, 200);
  const denied = await call("sa-token", "GET", "/api/v1/namespaces");
  assert.equal(denied.status, 403);
  assert.equal(denied.body.reason, "Forbidden");
  assert.equal(
    denied.body.message,
    'namespaces is forbidden: User "system:serviceaccount:ops:robot" cannot list resource "namespaces" in API group "" at the cluster scope',
  );
  assert.equal(denied.body.details.kind, "namespaces");
  assert.equal((await call("sa-token", "GET", "/metrics")).status, 403, "non-resource paths too");
  const grant = await call(
    "admin-token",
    "POST",
    "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    {
      metadata: { name: "ns-reader" },
      rules: [{ apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list"] }],
    },
  );
  assert.equal(grant.status, 201);
  assert.equal(
    (await call("admin-token", "POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
      metadata: { name: "robot-reads-ns" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "ns-reader" },
      subjects: [{ kind: "ServiceAccount", namespace: "ops", name: "robot" }],
    })).status,
    201,
  );
  assert.equal((await call("sa-token", "GET", "/api/v1/namespaces")).status, 200);
  assert.equal((await call("sa-token", "GET", "/api/v1/namespaces/default")).status, 200);
  const create = await call("sa-token", "POST", "/api/v1/namespaces", { metadata: { name: "x" } });
  assert.equal(create.status, 403);
  assert.match(create.body.message, /cannot create resource "namespaces"/);
  assert.deepEqual(
    [...server.usedPermissions("system:serviceaccount:ops:robot")].sort(),
    ["get /namespaces", "list /namespaces"],
  );
  assert.equal((await call("nope", "GET", "/api/v1/namespaces")).status, 401);
});

Deno.test("AlwaysAllow (the default) lets service accounts do anything", async () => {
  await using server = await startDevApiServer({ serviceAccountTokens: { t: "ops/robot" } });
  const response = await fetch(`${server.url}/api/v1/namespaces`, {
    headers: { authorization: "Bearer t" },
  });
  assert.equal(response.status, 200);
  await response.body?.cancel();
});
