// The client's bounds against a server that sends too much or too slowly: a body past the response
// limit (plain, or compressed and small on the wire), a list whose continue never ends or repeats,
// an answer trickling past the request timeout, an error body of any size.
import assert from "node:assert/strict";
import type { ConfigMap } from "kubernetes-types/core/v1.d.ts";
import {
  configMaps,
  KubeClient,
  RequestTimeoutError,
  ResponseLimitError,
  ServerError,
} from "../../../lib/client/mod.ts";

type Handler = (request: Request) => Response | Promise<Response>;

async function withClient(
  handler: Handler,
  fn: (kube: KubeClient) => Promise<void>,
  options: { timeoutMs?: number; maxResponseBytes?: number } = {},
) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  try {
    using kube = new KubeClient({
      server: `http://127.0.0.1:${server.addr.port}`,
      namespace: "default",
      insecureSkipTlsVerify: false,
      auth: { kind: "none" },
      source: { kind: "in-cluster", dir: "/x" },
    }, { ...options, maxRetries: 0 });
    await fn(kube);
  } finally {
    await server.shutdown();
  }
}

/** A body of `total` bytes of JSON-ish filler, produced as it is read; counts what was pulled. */
function endlessBody(total: number, sent: { bytes: number }): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
  return new ReadableStream({
    pull(controller) {
      if (sent.bytes >= total) return controller.close();
      sent.bytes += chunk.length;
      controller.enqueue(chunk);
    },
  });
}

Deno.test("a body past the response limit stops being read with a clear error", async () => {
  const sent = { bytes: 0 };
  await withClient(
    () => new Response(endlessBody(256 * 1024 * 1024, sent)),
    async (kube) => {
      await assert.rejects(
        kube.resource<ConfigMap>(configMaps).get("big", { namespace: "default" }),
        (error: Error) => {
          assert.ok(error instanceof ResponseLimitError);
          assert.match(error.message, /GET .*big: the answer is larger than 1 MiB/);
          return true;
        },
      );
      assert.ok(sent.bytes < 16 * 1024 * 1024, `read stopped early (${sent.bytes} bytes pulled)`);
    },
    { maxResponseBytes: 1024 * 1024 },
  );
});

Deno.test("a compressed body is held to the limit as it expands, whatever its Content-Length", async () => {
  // 8 MiB of JSON filler compresses to a few KiB: the announced length says nothing of its size.
  const filler = new TextEncoder().encode(`"${" ".repeat(8 * 1024 * 1024)}"`);
  const gzipped = new Uint8Array(
    await new Response(new Blob([filler]).stream().pipeThrough(new CompressionStream("gzip")))
      .arrayBuffer(),
  );
  await withClient(
    () =>
      new Response(gzipped, {
        headers: { "content-type": "application/json", "content-encoding": "gzip" },
      }),
    async (kube) => {
      await assert.rejects(
        kube.resource<ConfigMap>(configMaps).get("bomb", { namespace: "default" }),
        (error: Error) => {
          assert.ok(error instanceof ResponseLimitError, String(error));
          assert.match(error.message, /the answer is larger than 1 MiB/);
          return true;
        },
      );
    },
    { maxResponseBytes: 1024 * 1024 },
  );
});

function page(index: number, next: string | undefined): Response {
  return Response.json({
    kind: "ConfigMapList",
    metadata: { resourceVersion: "7", ...(next ? { continue: next } : {}) },
    items: Array.from({ length: 100 }, (_, i) => ({ metadata: { name: `cm-${index}-${i}` } })),
  });
}

Deno.test("a list whose continue never ends is cut off at the page limit", async () => {
  let pages = 0;
  await withClient(() => page(pages, `token-${++pages}`), async (kube) => {
    await assert.rejects(
      kube.resource<ConfigMap>(configMaps).list({
        namespace: "default",
        limits: { maxPages: 20, maxItems: 1_000_000, maxBytes: 1 << 30 },
      }),
      /more than 20 pages \(the server keeps sending continue\); list cut off/,
    );
    assert.equal(pages, 20);
  });
});

Deno.test("a list past its object or byte bound is cut off; a repeated continue token is no progress", async () => {
  let pages = 0;
  await withClient(() => page(pages, `token-${++pages}`), async (kube) => {
    await assert.rejects(
      kube.resource<ConfigMap>(configMaps).list({
        namespace: "default",
        limits: { maxPages: 1000, maxItems: 450, maxBytes: 1 << 30 },
      }),
      /more than 450 objects/,
    );
  });
  await withClient(() => page(pages, `token-${++pages}`), async (kube) => {
    await assert.rejects(
      kube.resource<ConfigMap>(configMaps).list({
        namespace: "default",
        limits: { maxPages: 1000, maxItems: 1_000_000, maxBytes: 20_000 },
      }),
      /more than 19.5 KiB over \d+ pages/,
    );
  });
  await withClient(() => page(0, "same"), async (kube) => {
    await assert.rejects(
      kube.resource<ConfigMap>(configMaps).list({ namespace: "default" }),
      /page 2 repeats a continue token \(no progress\)/,
    );
  });
});

Deno.test("an answer trickling past the request timeout is abandoned with a RequestTimeoutError", async () => {
  const closed: Promise<void>[] = [];
  await withClient(() => {
    let timer: ReturnType<typeof setTimeout>;
    let done!: () => void;
    closed.push(new Promise((resolve) => done = resolve));
    return new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"items":['));
          timer = setInterval(() => controller.enqueue(new TextEncoder().encode(" ")), 50);
        },
        cancel() {
          clearInterval(timer);
          done();
        },
      }),
    );
  }, async (kube) => {
    await assert.rejects(
      kube.request({ path: "/api/v1/namespaces" }),
      (error: Error) => {
        assert.ok(error instanceof RequestTimeoutError);
        assert.match(error.message, /no complete answer within 0.5 s \(request timeout\)/);
        return true;
      },
    );
    await Promise.all(closed);
  }, { timeoutMs: 500 });
});

Deno.test("an error answer of any size is read only in part", async () => {
  const sent = { bytes: 0 };
  await withClient(
    () => new Response(endlessBody(64 * 1024 * 1024, sent), { status: 500 }),
    async (kube) => {
      await assert.rejects(kube.request({ path: "/api/v1/namespaces" }), ServerError);
      assert.ok(sent.bytes < 8 * 1024 * 1024, `read stopped early (${sent.bytes} bytes pulled)`);
    },
  );
});
