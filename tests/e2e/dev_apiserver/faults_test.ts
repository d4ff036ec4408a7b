// The dev API server's test hooks (injected failures, latency, watch faults and request counters,
// in-process and over /_dev/) and its bearer-token check.
import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { api, openWatch, withServer } from "./support.ts";

const CM = "/api/v1/namespaces/default/configmaps";

Deno.test("faults: failNext fails matching requests, 429 with Retry-After", async () => {
  await withServer(async (server) => {
    server.faults.failNext({
      status: 429,
      verb: "create",
      resource: "configmaps",
      retryAfterSeconds: 7,
      count: 2,
    });
    server.faults.failNext({ status: 500, verb: "get", resource: "configmaps" });
    const list = await api(server, "GET", CM);
    assert.equal(list.status, 200, "list does not match a create or get rule");
    for (let i = 0; i < 2; i++) {
      const limited = await api(server, "POST", CM, { metadata: { name: "a" } });
      assert.equal(limited.status, 429);
      assert.equal(limited.body.reason, "TooManyRequests");
      assert.equal(limited.body.details.retryAfterSeconds, 7);
      assert.equal(limited.headers.get("retry-after"), "7");
    }
    assert.equal((await api(server, "POST", CM, { metadata: { name: "a" } })).status, 201);
    const failed = await api(server, "GET", `${CM}/a`);
    assert.equal(failed.status, 500);
    assert.equal(failed.body.reason, "InternalError");
    assert.equal((await api(server, "GET", `${CM}/a`)).status, 200);
  });
});

Deno.test("faults: subresource and namespace rules, latency and clear", async () => {
  await withServer(async (server) => {
    await api(server, "POST", "/api/v1/namespaces", { metadata: { name: "x" } });
    server.faults.failNext({ status: 409, resource: "namespaces/status" });
    server.faults.failNext({ status: 503, namespace: "kube-system" });
    assert.equal((await api(server, "GET", "/api/v1/namespaces/x")).status, 200);
    assert.equal((await api(server, "GET", "/api/v1/namespaces/x/status")).status, 409);
    assert.equal((await api(server, "GET", CM)).status, 200);
    assert.equal(
      (await api(server, "GET", "/api/v1/namespaces/kube-system/configmaps")).status,
      503,
    );
    server.faults.setLatency(150, { verb: "list" });
    const started = Date.now();
    await api(server, "GET", CM);
    assert.ok(Date.now() - started >= 140);
    server.faults.failNext({ status: 500 });
    server.faults.clear();
    const quick = Date.now();
    assert.equal((await api(server, "GET", CM)).status, 200);
    assert.ok(Date.now() - quick < 140);
  });
});

Deno.test("faults: dropping, stalling and compaction of watches", async () => {
  await withServer(async (server) => {
    const list = await api(server, "GET", CM);
    const rv = list.body.metadata.resourceVersion;
    const watch = await openWatch(server, `${CM}?watch=true&resourceVersion=${rv}`);
    assert.equal(server.faults.dropWatches(), 1);
    await assert.rejects(() => watch.next(2000));
    await watch.close();

    const stalled = await openWatch(server, `${CM}?watch=true&resourceVersion=${rv}`);
    server.faults.stallWatches(true);
    await api(server, "POST", CM, { metadata: { name: "held" } });
    await assert.rejects(() => stalled.next(300), /no watch event/);
    server.faults.stallWatches(false);
    assert.equal((await stalled.take(1))[0].object.metadata.name, "held");
    await stalled.close();

    server.faults.compact();
    const resumed = await openWatch(server, `${CM}?watch=true&resourceVersion=${rv}`);
    const error = await resumed.next();
    assert.equal(error?.type, "ERROR");
    assert.equal(error?.object.code, 410);
    await resumed.close();
  });
});

Deno.test("counters: count requests by verb, resource and code", async () => {
  await withServer(async (server) => {
    await api(server, "POST", CM, { metadata: { name: "a" } });
    await api(server, "POST", CM, { metadata: { name: "a" } });
    await api(server, "GET", `${CM}/a`);
    await api(server, "GET", CM);
    await api(server, "PUT", "/api/v1/namespaces/default/status", {});
    assert.equal(server.counters.count({ verb: "create", resource: "configmaps" }), 2);
    assert.equal(server.counters.count({ verb: "create", code: 409 }), 1);
    assert.equal(server.counters.count({ verb: "get", resource: "configmaps" }), 1);
    assert.equal(server.counters.count({ verb: "list" }), 1);
    assert.equal(server.counters.count({ resource: "namespaces/status" }), 1);
    const snapshot = server.counters.snapshot();
    assert.ok(snapshot.some((c) => c.verb === "create" && c.code === 201 && c.count === 1));
    server.counters.reset();
    assert.equal(server.counters.count(), 0);
  });
});

Deno.test("dev endpoints: faults, latency, watches and counters over HTTP", async () => {
  await withServer(async (server) => {
    const rule = await api(server, "POST", "/_dev/faults", {
      status: 503,
      verb: "list",
      resource: "configmaps",
    });
    assert.equal(rule.status, 201);
    assert.equal((await api(server, "GET", CM)).status, 503);
    await api(server, "POST", "/_dev/faults", { status: 500 });
    assert.equal((await api(server, "DELETE", "/_dev/faults")).status, 200);
    assert.equal((await api(server, "GET", CM)).status, 200);
    assert.equal((await api(server, "POST", "/_dev/faults", { status: "x" })).status, 400);
    assert.equal((await api(server, "POST", "/_dev/faults", "{oops")).status, 400);
    assert.equal((await api(server, "POST", "/_dev/latency", { ms: 0 })).status, 200);
    const watch = await openWatch(server, `${CM}?watch=true&resourceVersion=0`);
    const dropped = await api(server, "POST", "/_dev/watches/drop");
    assert.equal(dropped.body.dropped, 1);
    await watch.close();
    assert.equal(
      (await api(server, "POST", "/_dev/watches/stall", { stalled: false })).status,
      200,
    );
    assert.equal((await api(server, "POST", "/_dev/compact")).status, 200);
    const counters = await api(server, "GET", "/_dev/counters");
    assert.ok(
      counters.body.some((c: { verb: string; code: number }) =>
        c.verb === "list" && c.code === 503
      ),
    );
    assert.ok(!counters.body.some((c: { resource: string }) => c.resource.startsWith("/_dev")));
    await api(server, "DELETE", "/_dev/counters");
    assert.equal(server.counters.count(), 0);
    assert.equal((await api(server, "GET", "/_dev/nope")).status, 404);
  });
});

Deno.test("auth: bearer tokens are required when configured, and can rotate", async () => {
  await withServer(async (server) => {
    assert.equal(server.kubeconfig.users[0].user.token, "secret-1");
    const anonymous = await api(server, "GET", CM);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.reason, "Unauthorized");
    assert.equal(anonymous.body.kind, "Status");
    const wrong = await api(server, "GET", CM, undefined, { authorization: "Bearer nope" });
    assert.equal(wrong.status, 401);
    const ok = await api(server, "GET", CM, undefined, { authorization: "Bearer secret-1" });
    assert.equal(ok.status, 200);
    assert.equal((await api(server, "GET", "/version")).status, 401);
    assert.equal((await api(server, "GET", "/healthz")).status, 200);
    assert.equal((await api(server, "GET", "/_dev/counters")).status, 401, "/_dev needs the token");
    const bearer = { authorization: "Bearer secret-1" };
    assert.equal((await api(server, "GET", "/_dev/counters", undefined, bearer)).status, 200);
    const robot = { authorization: "Bearer robot-token" };
    const denied = await api(server, "POST", "/_dev/compact", undefined, robot);
    assert.equal(denied.status, 403, "a service account may not use /_dev/");
    assert.equal(denied.body.reason, "Forbidden");
    server.setTokens(["secret-2"]);
    assert.equal(
      (await api(server, "GET", CM, undefined, { authorization: "Bearer secret-1" })).status,
      401,
    );
    assert.equal(
      (await api(server, "GET", CM, undefined, { authorization: "Bearer secret-2" })).status,
      200,
    );
  }, { tokens: ["secret-1"], serviceAccountTokens: { "robot-token": "default/robot" } });
});

Deno.test("faults: a dropped watch is not logged as a failed response", async () => {
  const records: LogRecord[] = [];
  await configure({
    sinks: { memory: (record: LogRecord) => void records.push(record) },
    loggers: [
      { category: ["kleff"], lowestLevel: "error", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  try {
    await withServer(async (server) => {
      const watch = await openWatch(server, `${CM}?watch=true&resourceVersion=0`);
      assert.equal(server.faults.dropWatches(), 1);
      await assert.rejects(() => watch.next(2000));
      await watch.close();
    });
  } finally {
    await reset();
  }
  assert.deepEqual(records.map((r) => r.message.join("")), []);
});

/** Reads raw lines of a watch response until `count` have arrived. */
async function rawLines(response: Response, count: number): Promise<string[]> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (text.split("\n").length - 1 < count) {
    const { done, value } = await reader.read();
    if (done) break;
    text += value;
  }
  await reader.cancel();
  return text.split("\n").slice(0, count);
}

Deno.test("faults: corrupted watch events (oversize, undecodable) reach open watches only; objects stay intact", async () => {
  await withServer(async (server) => {
    const watch = await fetch(`${server.url}${CM}?watch=1`);
    server.faults.corruptWatchEvents({ kind: "undecodable", resource: "configmaps" });
    server.faults.corruptWatchEvents({ kind: "oversize", resource: "configmaps", bytes: 100_000 });
    assert.equal((await api(server, "POST", CM, { metadata: { name: "a" } })).status, 201);
    assert.equal((await api(server, "POST", CM, { metadata: { name: "b" } })).status, 201);
    assert.equal((await api(server, "POST", CM, { metadata: { name: "c" } })).status, 201);
    const [cut, padded, plain] = await rawLines(watch, 3);
    assert.throws(() => JSON.parse(cut));
    assert.ok(cut.startsWith('{"type":"ADDED","object":{'), cut);
    assert.ok(padded.length > 100_000);
    assert.equal(JSON.parse(padded).object.metadata.name, "b");
    assert.equal(JSON.parse(plain).object.metadata.name, "c");
    const list = await api(server, "GET", CM);
    assert.deepEqual(
      list.body.items.map((item: { metadata: { name: string } }) => item.metadata.name),
      [
        "a",
        "b",
        "c",
      ],
    );
    assert.equal(list.body.items[1].metadata.annotations, undefined);
    const bad = await fetch(`${server.url}/_dev/watches/corrupt`, {
      method: "POST",
      body: JSON.stringify({ kind: "garbled" }),
    });
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
  });
});

Deno.test("faults: trickled answers arrive whole, slowly; /_dev/trickle sets and clears", async () => {
  await withServer(async (server) => {
    const set = await fetch(`${server.url}/_dev/trickle`, {
      method: "POST",
      body: JSON.stringify({ bytesPerSecond: 2000, verb: "list", resource: "configmaps" }),
    });
    assert.equal(set.status, 200);
    await set.body?.cancel();
    const response = await fetch(`${server.url}${CM}`);
    const reader = response.body!.getReader();
    let chunks = 0;
    let text = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks++;
      text += new TextDecoder().decode(value);
    }
    assert.ok(chunks > 1, `the body came in ${chunks} chunks`);
    assert.equal(JSON.parse(text).kind, "ConfigMapList");
    const clear = await fetch(`${server.url}/_dev/trickle`, { method: "POST", body: "{}" });
    assert.equal(clear.status, 200);
    await clear.body?.cancel();
    const fast = await api(server, "GET", CM);
    assert.equal(fast.status, 200);
  });
});
