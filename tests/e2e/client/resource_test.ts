// ResourceClient and listAll against a tiny fake server: huge pages, and namespaced kinds without a namespace.
import assert from "node:assert/strict";
import type { ConfigMap } from "kubernetes-types/core/v1.d.ts";
import { configMaps, KubeClient } from "../../../lib/client/mod.ts";

type Handler = (request: Request) => Response | Promise<Response>;

async function withClient(handler: Handler, fn: (kube: KubeClient) => Promise<void>) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  try {
    using kube = new KubeClient({
      server: `http://127.0.0.1:${server.addr.port}`,
      namespace: "default",
      insecureSkipTlsVerify: false,
      auth: { kind: "none" },
      source: { kind: "in-cluster", dir: "/x" },
    });
    await fn(kube);
  } finally {
    await server.shutdown();
  }
}

function page(from: number, count: number, next?: string): Response {
  const items = Array.from({ length: count }, (_, i) => ({ metadata: { name: `cm-${from + i}` } }));
  return Response.json({
    kind: "ConfigMapList",
    apiVersion: "v1",
    metadata: { resourceVersion: "42", ...(next ? { continue: next } : {}) },
    items,
  });
}

Deno.test("lists far larger than the engine's argument limit work, in one page or several", async () => {
  const big = 300_000;
  await withClient((request) => {
    const url = new URL(request.url);
    if (url.pathname.endsWith("/one")) return page(0, big);
    return url.searchParams.get("continue") === "p2" ? page(big, big) : page(0, big, "p2");
  }, async (kube) => {
    // Above the default list limits (100,000 objects), which a caller may raise.
    const limits = { maxPages: 10, maxItems: 2 * big, maxBytes: 256 * 1024 * 1024 };
    const one = await kube.resource<ConfigMap>({ ...configMaps, plural: "one" }).list({ limits });
    assert.equal(one.items.length, big);
    assert.equal(one.resourceVersion, "42");
    const paged = await kube.resource<ConfigMap>({ ...configMaps, plural: "two" }).list({
      limits,
    });
    assert.equal(paged.items.length, 2 * big);
    assert.equal(paged.items[big].metadata?.name, `cm-${big}`);
    assert.equal(paged.items.at(-1)?.metadata?.name, `cm-${2 * big - 1}`);
  });
});

Deno.test("a namespaced kind without a namespace is a rejected TypeError, never a cluster-wide request", async () => {
  const seen: string[] = [];
  await withClient((request) => {
    seen.push(`${request.method} ${new URL(request.url).pathname}`);
    return Response.json({ metadata: { name: "x", namespace: "ns" } });
  }, async (kube) => {
    const cms = kube.resource<ConfigMap>(configMaps);
    const create = cms.create({ metadata: { name: "x" } });
    await assert.rejects(create, (error: Error) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /ConfigMap is namespaced: a namespace is required/);
      return true;
    });
    const get = cms.get("x");
    await assert.rejects(get, TypeError);
    await assert.rejects(cms.replace({ metadata: { name: "x" } }), TypeError);
    await assert.rejects(cms.patchStatus("x", {}), TypeError);
    assert.deepEqual(seen, [], "nothing was sent");
    await cms.create({ metadata: { name: "x", namespace: "ns" } });
    await cms.create({ metadata: { name: "y" } }, { namespace: "ns" });
    await cms.list();
    assert.deepEqual(seen, [
      "POST /api/v1/namespaces/ns/configmaps",
      "POST /api/v1/namespaces/ns/configmaps",
      "GET /api/v1/configmaps",
    ]);
  });
});
