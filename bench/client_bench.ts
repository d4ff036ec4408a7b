// Measures the client's watch path: events parsed per second, a body of small chunks read with a
// default reader and into one buffer, and the cost (ms, requests) of a reconnect and of a relist.
import type { ConfigMap } from "kubernetes-types/core/v1.d.ts";
import { startDevApiServer } from "../dev_apiserver/mod.ts";
import { configMaps, KubeClient, parseWatchStream } from "../lib/client/mod.ts";
import { readChunks } from "../lib/client/chunks.ts";
import { eventually, type EventuallyOptions } from "../tests/support/wait.ts";

/** Polling while measuring: every millisecond, for at most 30 s. */
const POLL: EventuallyOptions = { timeoutMs: 30_000, intervalMs: 1 };

/** Prints watch events parsed per second and what a reconnect and a relist cost against the dev API server. */
export async function benchClient(): Promise<void> {
  await benchParser();
  await benchBodyReads();
  for (const streamingList of [false, true]) await benchReconnect(streamingList);
}

async function benchParser(): Promise<void> {
  const events = 200_000;
  const line = (i: number) =>
    JSON.stringify({
      type: "MODIFIED",
      object: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name: `cm-${i}`,
          namespace: "bench",
          resourceVersion: String(i),
          labels: { app: "bench" },
        },
        data: { key: "value ".repeat(20) },
      },
    }) + "\n";
  const bytes = new TextEncoder().encode(
    Array.from({ length: events }, (_, i) => line(i)).join(""),
  );
  const chunk = 64 * 1024;
  const started = performance.now();
  let count = 0;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let offset = 0; offset < bytes.length; offset += chunk) {
        controller.enqueue(bytes.subarray(offset, offset + chunk));
      }
      controller.close();
    },
  });
  for await (const _ of parseWatchStream(body)) count++;
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `watch parser: ${count} events (${(bytes.length / 1e6).toFixed(1)} MB) in ${
      seconds.toFixed(2)
    } s = ` +
      `${Math.round(count / seconds).toLocaleString("en")} events/s`,
  );
}

/**
 * A fetch body sent as 20,000 small chunks (a watch's events as a server writes them), read with
 * a default reader (a fresh 64 KiB buffer per read) and with `readChunks` (one buffer): time, and
 * the engine's external memory (buffers awaiting a collection) right after.
 */
async function benchBodyReads(): Promise<void> {
  const chunks = 20_000;
  const piece = new TextEncoder().encode(`{"type":"ADDED","object":{"metadata":{"name":"x"}}}\n`);
  await using server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, () => {
    let sent = 0;
    return new Response(
      new ReadableStream({
        pull(controller) {
          if (sent++ === chunks) controller.close();
          else controller.enqueue(piece);
        },
      }),
    );
  });
  const url = `http://127.0.0.1:${server.addr.port}/`;
  const read = async (how: string, each: (body: ReadableStream<Uint8Array>) => Promise<number>) => {
    const started = performance.now();
    const bytes = await each((await fetch(url)).body!);
    const ms = performance.now() - started;
    const external = Deno.memoryUsage().external / 1024 / 1024;
    console.log(
      `body of ${chunks} small chunks (${bytes} bytes), ${how}: ${ms.toFixed(0)} ms, ` +
        `external memory right after ${external.toFixed(1)} MiB`,
    );
  };
  // The bench runs with --expose-gc: each reading starts from a collected heap.
  const collect = () => (globalThis as { gc?: () => void }).gc?.();
  for (let round = 0; round < 2; round++) {
    collect();
    await read("default reader", async (body) => {
      let bytes = 0;
      for await (const chunk of body) bytes += chunk.length;
      return bytes;
    });
    collect();
    await read("one reused buffer", async (body) => {
      let bytes = 0;
      for await (const chunk of readChunks(body)) bytes += chunk.length;
      return bytes;
    });
  }
}

async function benchReconnect(streamingList: boolean): Promise<void> {
  await using server = await startDevApiServer({ bookmarkIntervalMs: 1_000 });
  using kube = new KubeClient({
    server: server.url,
    namespace: "default",
    insecureSkipTlsVerify: false,
    auth: { kind: "none" },
    source: { kind: "in-cluster", dir: "/none" },
  });
  await kube.request({
    method: "POST",
    path: "/api/v1/namespaces",
    body: { metadata: { name: "bench" } },
  });
  const cms = kube.resource<ConfigMap>(configMaps);
  const objects = 500;
  for (let i = 0; i < objects; i++) {
    await cms.create({ metadata: { name: `seed-${i}` } }, { namespace: "bench" });
  }
  const controller = new AbortController();
  const seen = new Set<string>();
  let syncs = 0;
  const watch = cms.watch({ namespace: "bench", signal: controller.signal, streamingList });
  const task = (async () => {
    for await (const event of watch) {
      if (event.type === "SYNCED") syncs++;
      else seen.add(event.object.metadata!.name!);
    }
  })();
  await eventually("the initial sync", () => syncs === 1, POLL);
  const mode = streamingList ? "streaming list" : "list + watch";
  const rounds = 20;
  let total = 0;
  let requests = 0;
  let lists = 0;
  for (let round = 0; round < rounds; round++) {
    server.counters.reset();
    const started = performance.now();
    server.faults.dropWatches();
    await cms.create({ metadata: { name: `after-drop-${round}` } }, { namespace: "bench" });
    await eventually(`after-drop-${round}`, () => seen.has(`after-drop-${round}`), POLL);
    total += performance.now() - started;
    requests += server.counters.count() - 1;
    lists += server.counters.count({ verb: "list" });
  }
  console.log(
    `${mode}: reconnect after a dropped watch: ${
      (total / rounds).toFixed(1)
    } ms until the next event, ` +
      `${(requests / rounds).toFixed(1)} requests (${(lists / rounds).toFixed(1)} LIST)`,
  );
  server.counters.reset();
  const started = performance.now();
  server.faults.stallWatches(true);
  await cms.create({ metadata: { name: "during-compaction" } }, { namespace: "bench" });
  server.faults.compact();
  server.faults.dropWatches();
  server.faults.stallWatches(false);
  await eventually("the relist", () => syncs === 2, POLL);
  console.log(
    `${mode}: relist after 410 with ${objects + rounds + 1} objects: ${
      (performance.now() - started).toFixed(1)
    } ms, ` +
      `${server.counters.count() - 1} requests`,
  );
  controller.abort();
  await task;
}

if (import.meta.main) await benchClient();
