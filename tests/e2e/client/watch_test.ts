// The resumable watch's state machine against a scripted fake API: fallbacks, garbage lines, 410 relists, stalls and abort.
import assert from "node:assert/strict";
import {
  KubeClient,
  namespaces,
  type WatchEvent,
  type WatchHealth,
} from "../../../lib/client/mod.ts";
import type { Namespace } from "kubernetes-types/core/v1.d.ts";

type WatchScript = (url: URL, send: (line: string) => void) => Promise<void> | void;

interface Fake {
  url: string;
  lists: number;
  watches: URL[];
  objects: Map<string, string>;
  rv: number;
  onWatch: WatchScript[];
  rejectStreaming: boolean;
}

async function withFake(fn: (fake: Fake) => Promise<void>): Promise<void> {
  const fake: Fake = {
    url: "",
    lists: 0,
    watches: [],
    objects: new Map(),
    rv: 10,
    onWatch: [],
    rejectStreaming: false,
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const url = new URL(request.url);
    if (url.searchParams.get("watch") !== "1") {
      fake.lists++;
      return Response.json({
        kind: "NamespaceList",
        metadata: { resourceVersion: String(fake.rv) },
        items: [...fake.objects].map(([name, rv]) => ({ metadata: { name, resourceVersion: rv } })),
      });
    }
    fake.watches.push(url);
    if (fake.rejectStreaming && url.searchParams.has("sendInitialEvents")) {
      return Response.json({
        kind: "Status",
        code: 400,
        reason: "BadRequest",
        message: "sendInitialEvents is forbidden",
      }, {
        status: 400,
      });
    }
    const script = fake.onWatch.shift();
    if (!script) return new Response(new ReadableStream({ cancel() {} }));
    const encoder = new TextEncoder();
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
    (async () => {
      try {
        await script(url, (line) => controller.enqueue(encoder.encode(line + "\n")));
        controller.close();
      } catch {
        // the client went away
      }
    })();
    return new Response(body);
  });
  fake.url = `http://127.0.0.1:${server.addr.port}`;
  try {
    await fn(fake);
  } finally {
    await server.shutdown();
  }
}

const event = (type: string, name: string, rv: string) =>
  JSON.stringify({ type, object: { metadata: { name, resourceVersion: rv } } });
const endBookmark = (rv: string) =>
  JSON.stringify({
    type: "BOOKMARK",
    object: {
      metadata: { resourceVersion: rv, annotations: { "k8s.io/initial-events-end": "true" } },
    },
  });

function kube(url: string): KubeClient {
  return new KubeClient({
    server: url,
    namespace: "default",
    insecureSkipTlsVerify: false,
    auth: { kind: "none" },
    source: { kind: "in-cluster", dir: "/x" },
  });
}

const fast = {
  inactivityTimeoutMs: 300,
  initialEventsTimeoutMs: 200,
  backoff: { initialMs: 10, maxMs: 50 },
};

function short(e: WatchEvent<Namespace>): string {
  return e.type === "SYNCED"
    ? `SYNCED ${e.resourceVersion}`
    : `${e.type} ${e.object.metadata?.name}`;
}

async function take(
  iterator: AsyncIterator<WatchEvent<Namespace>>,
  count: number,
): Promise<string[]> {
  const out: string[] = [];
  while (out.length < count) {
    const next = await iterator.next();
    if (next.done) break;
    out.push(short(next.value));
  }
  return out;
}

Deno.test("streaming list, then resume from the last bookmark after a normal end, with no list", async () => {
  await withFake(async (fake) => {
    fake.onWatch.push(
      (_url, send) => {
        send(event("ADDED", "a", "5"));
        send(event("ADDED", "b", "7"));
        send(endBookmark("10"));
        send(event("MODIFIED", "a", "11"));
        send(JSON.stringify({ type: "BOOKMARK", object: { metadata: { resourceVersion: "15" } } }));
      },
      (_url, send) => send(event("DELETED", "b", "16")),
    );
    using client = kube(fake.url);
    const controller = new AbortController();
    const watch = client.resource<Namespace>(namespaces).watch({
      signal: controller.signal,
      timings: fast,
    });
    const iterator = watch[Symbol.asyncIterator]();
    assert.deepEqual(await take(iterator, 5), [
      "ADDED a",
      "ADDED b",
      "SYNCED 10",
      "MODIFIED a",
      "DELETED b",
    ]);
    controller.abort();
    assert.equal((await iterator.next()).done, true);
    assert.equal(fake.lists, 0);
    const first = fake.watches[0].searchParams;
    assert.equal(first.get("sendInitialEvents"), "true");
    assert.equal(first.get("resourceVersionMatch"), "NotOlderThan");
    assert.equal(first.get("allowWatchBookmarks"), "true");
    assert.equal(first.get("resourceVersion"), null);
    const timeout = Number(first.get("timeoutSeconds"));
    assert.ok(timeout >= 300 && timeout <= 600, String(timeout));
    assert.equal(fake.watches[1].searchParams.get("resourceVersion"), "15");
    assert.equal(fake.watches[1].searchParams.get("sendInitialEvents"), null);
    assert.equal(watch.health().synced, true);
  });
});

Deno.test("a server that ignores sendInitialEvents (no end bookmark): fall back to list + watch without duplicate ADDED", async () => {
  await withFake(async (fake) => {
    fake.objects.set("a", "5");
    fake.objects.set("b", "6");
    fake.onWatch.push(async (_url, send) => {
      send(event("ADDED", "a", "5"));
      await new Promise((resolve) => setTimeout(resolve, 1000));
    });
    fake.onWatch.push((_url, send) => send(event("ADDED", "c", "12")));
    using client = kube(fake.url);
    const controller = new AbortController();
    const iterator = client.resource<Namespace>(namespaces).watch({
      signal: controller.signal,
      timings: fast,
    })
      [Symbol.asyncIterator]();
    assert.deepEqual(await take(iterator, 4), ["ADDED a", "ADDED b", "SYNCED 10", "ADDED c"]);
    controller.abort();
    await iterator.next();
    assert.equal(fake.lists, 1);
    assert.equal(fake.watches[1].searchParams.get("resourceVersion"), "10");
  });
});

Deno.test("a rejected streaming list (400) falls back at once; a garbage line is skipped, counted and relisted", async () => {
  await withFake(async (fake) => {
    fake.objects.set("a", "5");
    fake.rejectStreaming = true;
    fake.onWatch.push(
      (_url, send) => {
        send(event("MODIFIED", "a", "11"));
        send("this is { not json");
      },
      (_url, send) => send(event("MODIFIED", "a", "12")),
    );
    using client = kube(fake.url);
    const controller = new AbortController();
    const health: WatchHealth[] = [];
    const watch = client.resource<Namespace>(namespaces).watch({
      signal: controller.signal,
      timings: fast,
      onHealth: (h) => health.push(h),
    });
    const iterator = watch[Symbol.asyncIterator]();
    // The event after the garbage may be lost: a relist (a plain list) corrects the view.
    assert.deepEqual(await take(iterator, 6), [
      "ADDED a",
      "SYNCED 10",
      "MODIFIED a",
      "MODIFIED a",
      "SYNCED 10",
      "MODIFIED a",
    ]);
    controller.abort();
    await iterator.next();
    assert.equal(fake.lists, 2, "the garbage line is followed by a relist");
    assert.equal(fake.watches.length, 3);
    assert.equal(fake.watches[1].searchParams.get("resourceVersion"), "10");
    assert.equal(fake.watches[2].searchParams.get("resourceVersion"), "10");
    assert.equal(fake.watches[2].searchParams.has("sendInitialEvents"), false);
    assert.deepEqual(watch.health().skipped, { oversize: 0, undecodable: 1 });
    assert.match(watch.health().lastRestartReason ?? "", /line 2 is not JSON/);
    assert.ok(health.some((h) => h.synced));
  });
});

Deno.test("410 as an ERROR event relists and reports vanished objects as DELETED, unchanged ones not at all", async () => {
  await withFake(async (fake) => {
    fake.objects.set("keep", "3");
    fake.objects.set("change", "4");
    fake.objects.set("vanish", "5");
    fake.onWatch.push((_url, send) => {
      fake.objects.delete("vanish");
      fake.objects.set("change", "20");
      fake.objects.set("new", "21");
      fake.rv = 22;
      send(
        JSON.stringify({
          type: "ERROR",
          object: { kind: "Status", code: 410, reason: "Expired", message: "too old" },
        }),
      );
    });
    using client = kube(fake.url);
    const controller = new AbortController();
    const watch = client.resource<Namespace>(namespaces).watch({
      signal: controller.signal,
      timings: fast,
      streamingList: false,
    });
    const iterator = watch[Symbol.asyncIterator]();
    assert.deepEqual(await take(iterator, 4), [
      "ADDED keep",
      "ADDED change",
      "ADDED vanish",
      "SYNCED 10",
    ]);
    assert.deepEqual(await take(iterator, 4), [
      "MODIFIED change",
      "ADDED new",
      "DELETED vanish",
      "SYNCED 22",
    ]);
    controller.abort();
    await iterator.next();
    assert.equal(fake.lists, 2);
  });
});

Deno.test("a silent connection is dropped after the inactivity timeout and resumed; abort ends a pending read promptly", async () => {
  await withFake(async (fake) => {
    fake.objects.set("a", "5");
    fake.onWatch.push(async () => await new Promise((resolve) => setTimeout(resolve, 2000)));
    fake.onWatch.push((_url, send) => send(event("ADDED", "b", "30")));
    using client = kube(fake.url);
    const controller = new AbortController();
    const watch = client.resource<Namespace>(namespaces).watch({
      signal: controller.signal,
      timings: fast,
      streamingList: false,
    });
    const iterator = watch[Symbol.asyncIterator]();
    assert.deepEqual(await take(iterator, 3), ["ADDED a", "SYNCED 10", "ADDED b"]);
    assert.match(watch.health().lastRestartReason ?? "", /no bytes for 300 ms/);
    const pending = iterator.next();
    const started = Date.now();
    setTimeout(() => controller.abort(), 20);
    assert.equal((await pending).done, true);
    assert.ok(Date.now() - started < 250, "ended promptly");
  });
});

Deno.test("a TypeError of our own code inside the watch surfaces instead of being retried as a broken connection", async () => {
  await withFake(async (fake) => {
    fake.onWatch.push((_url, send) => {
      send(event("ADDED", "a", "5"));
      send(endBookmark("10"));
    });
    using client = kube(fake.url);
    const controller = new AbortController();
    let calls = 0;
    const watch = client.resource<Namespace>(namespaces).watch({
      signal: controller.signal,
      timings: fast,
      // A bug in the watch's own callback: the watch must not take it for a network failure.
      onHealth: (health: WatchHealth) => {
        calls++;
        if (health.synced) throw new TypeError("bug: cannot read properties of undefined");
      },
    });
    const iterator = watch[Symbol.asyncIterator]();
    assert.deepEqual(await take(iterator, 1), ["ADDED a"]);
    await assert.rejects(() => iterator.next(), TypeError);
    controller.abort();
    assert.equal(fake.watches.length, 1, "no reconnect after our own bug");
    assert.ok(calls >= 1);
  });
});
