// Lists on the dev API server: label and field selectors, paging and kubectl's Table output.
import assert from "node:assert/strict";
import { api, withServer } from "./support.ts";

const CM = "/api/v1/namespaces/default/configmaps";

function names(body: { items: { metadata: { name: string } }[] }): string[] {
  return body.items.map((i) => i.metadata.name);
}

Deno.test("list: label selectors with every operator", async () => {
  await withServer(async (server) => {
    const labels: Record<string, Record<string, string>> = {
      a: { app: "web", tier: "front" },
      b: { app: "web", tier: "back" },
      c: { app: "db" },
      d: {},
    };
    for (const [name, l] of Object.entries(labels)) {
      await api(server, "POST", CM, { metadata: { name, labels: l } });
    }
    const cases: [string, string[]][] = [
      ["app=web", ["a", "b"]],
      ["app==web", ["a", "b"]],
      ["app!=web", ["c", "d"]],
      ["app in (db,web),tier notin (back)", ["a", "c"]],
      ["tier", ["a", "b"]],
      ["!tier", ["c", "d"]],
      ["", ["a", "b", "c", "d"]],
    ];
    for (const [selector, expected] of cases) {
      const list = await api(server, "GET", `${CM}?labelSelector=${encodeURIComponent(selector)}`);
      assert.deepEqual(names(list.body), expected, selector);
    }
    const bad = await api(server, "GET", `${CM}?labelSelector=${encodeURIComponent("app in (")}`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.reason, "BadRequest");
  });
});

Deno.test("list: field selectors on name, namespace, event objects and namespace phase", async () => {
  await withServer(async (server) => {
    await api(server, "POST", CM, { metadata: { name: "a" } });
    await api(server, "POST", CM, { metadata: { name: "b" } });
    await api(server, "POST", "/api/v1/namespaces/kube-system/configmaps", {
      metadata: { name: "a" },
    });
    const byName = await api(server, "GET", "/api/v1/configmaps?fieldSelector=metadata.name%3Da");
    assert.equal(byName.body.items.length, 2);
    const byNs = await api(
      server,
      "GET",
      "/api/v1/configmaps?fieldSelector=metadata.namespace%3Dkube-system",
    );
    assert.deepEqual(names(byNs.body), ["a"]);
    const notName = await api(server, "GET", `${CM}?fieldSelector=metadata.name!%3Da`);
    assert.deepEqual(names(notName.body), ["b"]);
    await api(server, "POST", "/api/v1/namespaces/default/events", {
      metadata: { name: "e1" },
      involvedObject: { kind: "Widget", name: "w1", namespace: "default", uid: "u1" },
      reason: "Made",
      type: "Normal",
    });
    const events = await api(
      server,
      "GET",
      "/api/v1/namespaces/default/events?fieldSelector=" +
        encodeURIComponent(
          "involvedObject.name=w1,involvedObject.kind=Widget,involvedObject.uid=u1",
        ),
    );
    assert.deepEqual(names(events.body), ["e1"]);
    const active = await api(
      server,
      "GET",
      "/api/v1/namespaces?fieldSelector=status.phase%3DActive",
    );
    assert.ok(active.body.items.length >= 3);
    const unsupported = await api(server, "GET", `${CM}?fieldSelector=spec.foo%3Dbar`);
    assert.equal(unsupported.status, 400);
    assert.equal(
      unsupported.body.message,
      `"spec.foo" is not a known field selector: only "metadata.name", "metadata.namespace"`,
    );
    const eventFields = await api(server, "GET", "/api/v1/events?fieldSelector=spec.foo%3Dbar");
    assert.equal(eventFields.body.message, "field label not supported: spec.foo");
  });
});

Deno.test("list: limit and continue page through a stable order", async () => {
  await withServer(async (server) => {
    for (const name of ["e", "a", "d", "b", "c"]) {
      await api(server, "POST", CM, { metadata: { name } });
    }
    const first = await api(server, "GET", `${CM}?limit=2`);
    assert.deepEqual(names(first.body), ["a", "b"]);
    assert.equal(first.body.metadata.remainingItemCount, 3);
    assert.ok(first.body.metadata.continue);
    const second = await api(
      server,
      "GET",
      `${CM}?limit=2&continue=${first.body.metadata.continue}`,
    );
    assert.deepEqual(names(second.body), ["c", "d"]);
    assert.equal(second.body.metadata.resourceVersion, first.body.metadata.resourceVersion);
    const third = await api(
      server,
      "GET",
      `${CM}?limit=2&continue=${second.body.metadata.continue}`,
    );
    assert.deepEqual(names(third.body), ["e"]);
    assert.equal(third.body.metadata.continue, undefined);
    const garbage = await api(server, "GET", `${CM}?limit=2&continue=garbage`);
    assert.equal(garbage.status, 400);
    await api(server, "POST", CM, { metadata: { name: "f" } });
    server.faults.compact();
    const expired = await api(
      server,
      "GET",
      `${CM}?limit=2&continue=${first.body.metadata.continue}`,
    );
    assert.equal(expired.status, 410);
    assert.equal(expired.body.reason, "Expired");
  });
});

Deno.test("list: Table output for kubectl with printer columns and object metadata", async () => {
  await withServer(async (server) => {
    await api(server, "POST", CM, {
      metadata: { name: "a", labels: { x: "y" } },
      data: { k: "v" },
    });
    const accept =
      "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    const table = await api(server, "GET", CM, undefined, { accept });
    assert.equal(table.body.kind, "Table");
    assert.equal(table.body.apiVersion, "meta.k8s.io/v1");
    assert.equal(table.body.rows[0].cells[0], "a");
    assert.equal(table.body.rows[0].object.kind, "PartialObjectMetadata");
    assert.deepEqual(table.body.rows[0].object.metadata.labels, { x: "y" });
    const single = await api(server, "GET", `${CM}/a`, undefined, { accept });
    assert.equal(single.body.rows.length, 1);
    const metadata = await api(server, "GET", CM, undefined, {
      accept: "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
    });
    assert.equal(metadata.body.kind, "PartialObjectMetadataList");
    assert.equal(metadata.body.items[0].data, undefined);
    const protobufOnly = await api(server, "GET", CM, undefined, {
      accept: "application/vnd.kubernetes.protobuf",
    });
    assert.equal(protobufOnly.status, 406);
  });
});
