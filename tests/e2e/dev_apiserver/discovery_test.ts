// Discovery on the dev API server: /version, legacy and aggregated discovery and OpenAPI v3, which
// clients read before anything else.
import assert from "node:assert/strict";
import { api, createWidgetCrd, withServer } from "./support.ts";

Deno.test("discovery: /version, /api and /apis describe the served groups", async () => {
  await withServer(async (server) => {
    const version = await api(server, "GET", "/version");
    assert.equal(version.status, 200);
    assert.equal(version.body.major, "1");
    assert.equal(version.body.minor, "32");
    const core = await api(server, "GET", "/api");
    assert.equal(core.body.kind, "APIVersions");
    assert.deepEqual(core.body.versions, ["v1"]);
    const groups = await api(server, "GET", "/apis");
    assert.equal(groups.body.kind, "APIGroupList");
    const names = groups.body.groups.map((g: { name: string }) => g.name);
    for (
      const g of [
        "events.k8s.io",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "coordination.k8s.io",
        "apiextensions.k8s.io",
      ]
    ) {
      assert.ok(names.includes(g), `group ${g} missing`);
    }
    const rbac = await api(server, "GET", "/apis/rbac.authorization.k8s.io");
    assert.equal(rbac.body.preferredVersion.groupVersion, "rbac.authorization.k8s.io/v1");
  });
});

Deno.test("discovery: resource lists carry kind, scope, verbs and short names", async () => {
  await withServer(async (server) => {
    const v1 = await api(server, "GET", "/api/v1");
    assert.equal(v1.body.kind, "APIResourceList");
    const byName = new Map(v1.body.resources.map((r: { name: string }) => [r.name, r]));
    const expected: [string, string, boolean, string[]][] = [
      ["namespaces", "Namespace", false, ["ns"]],
      ["events", "Event", true, ["ev"]],
      ["configmaps", "ConfigMap", true, ["cm"]],
      ["secrets", "Secret", true, []],
      ["serviceaccounts", "ServiceAccount", true, ["sa"]],
      ["resourcequotas", "ResourceQuota", true, ["quota"]],
      ["limitranges", "LimitRange", true, ["limits"]],
    ];
    for (const [name, kind, namespaced, shortNames] of expected) {
      // deno-lint-ignore no-explicit-any
      const r = byName.get(name) as any;
      assert.ok(r, `${name} missing`);
      assert.equal(r.kind, kind);
      assert.equal(r.namespaced, namespaced);
      assert.deepEqual(r.shortNames ?? [], shortNames);
      assert.ok(r.verbs.includes("watch"));
    }
    assert.ok(byName.has("namespaces/status"));
    const leases = await api(server, "GET", "/apis/coordination.k8s.io/v1");
    assert.equal(leases.body.resources[0].name, "leases");
    const netpol = await api(server, "GET", "/apis/networking.k8s.io/v1");
    assert.deepEqual(netpol.body.resources[0].shortNames, ["netpol"]);
    const rbac = await api(server, "GET", "/apis/rbac.authorization.k8s.io/v1");
    assert.deepEqual(
      rbac.body.resources.map((r: { name: string }) => r.name).sort(),
      ["clusterrolebindings", "clusterroles", "rolebindings", "roles"],
    );
    const missing = await api(server, "GET", "/apis/nope.example.com/v1");
    assert.equal(missing.status, 404);
    assert.equal(missing.body.message, "the server could not find the requested resource");
  });
});

Deno.test("discovery: aggregated discovery v2 and CRDs appear as soon as created", async () => {
  await withServer(async (server) => {
    const accept =
      "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
    await createWidgetCrd(server);
    const apis = await api(server, "GET", "/apis", undefined, { accept });
    assert.equal(apis.body.kind, "APIGroupDiscoveryList");
    assert.match(apis.headers.get("content-type")!, /as=APIGroupDiscoveryList/);
    const group = apis.body.items.find((i: { metadata: { name: string } }) =>
      i.metadata.name === "example.kleff.io"
    );
    const resource = group.versions[0].resources[0];
    assert.equal(resource.resource, "widgets");
    assert.equal(resource.scope, "Namespaced");
    assert.equal(resource.responseKind.kind, "Widget");
    assert.equal(resource.subresources[0].subresource, "status");
    const core = await api(server, "GET", "/api", undefined, { accept });
    assert.equal(core.body.items[0].versions[0].version, "v1");
    const legacy = await api(server, "GET", "/apis/example.kleff.io/v1");
    assert.deepEqual(legacy.body.resources.map((r: { name: string }) => r.name), [
      "widgets",
      "widgets/status",
    ]);
  });
});

Deno.test("discovery: OpenAPI v3 advertises fieldValidation on PATCH for every kind", async () => {
  await withServer(async (server) => {
    await createWidgetCrd(server);
    const index = await api(server, "GET", "/openapi/v3");
    const ref = index.body.paths["apis/example.kleff.io/v1"].serverRelativeURL;
    assert.match(ref, /\?hash=/);
    const doc = await api(server, "GET", ref);
    const item = doc.body.paths["/apis/example.kleff.io/v1/namespaces/{namespace}/widgets/{name}"];
    assert.deepEqual(item.patch["x-kubernetes-group-version-kind"], {
      group: "example.kleff.io",
      version: "v1",
      kind: "Widget",
    });
    assert.ok(item.patch.parameters.some((p: { name: string }) => p.name === "fieldValidation"));
    const unknown = await api(server, "GET", "/openapi/v3/apis/nope/v1");
    assert.equal(unknown.status, 404);
  });
});

Deno.test("discovery: a malformed %-escape in a resource path is an unknown path (404)", async () => {
  await withServer(async (server) => {
    for (const path of ["/api/v1/namespaces/%E0%A4%A", "/api/v1/namespaces/default/config%maps"]) {
      const answer = await api(server, "GET", path);
      assert.equal(answer.status, 404, path);
      assert.equal(answer.body.reason, "NotFound", path);
    }
  });
});
