// Watches on the dev API server: initial state, history replay, 410 Gone, bookmarks, timeouts and
// streaming lists.
import assert from "node:assert/strict";
import { api, openWatch, withServer } from "./support.ts";

const CM = "/api/v1/namespaces/default/configmaps";

Deno.test("watch: without resourceVersion sends current state as ADDED, then changes", async () => {
  await withServer(async (server) => {
    await api(server, "POST", CM, { metadata: { name: "a" } });
    const watch = await openWatch(server, `${CM}?watch=true`);
    try {
      assert.equal(watch.response.headers.get("content-type"), "application/json");
      const [added] = await watch.take(1);
      assert.equal(added.type, "ADDED");
      assert.equal(added.object.metadata.name, "a");
      await api(server, "PATCH", `${CM}/a`, { data: { k: "v" } });
      await api(server, "DELETE", `${CM}/a`);
      const [modified, deleted] = await watch.take(2);
      assert.equal(modified.type, "MODIFIED");
      assert.equal(modified.object.data.k, "v");
      assert.equal(deleted.type, "DELETED");
      assert.ok(
        Number(deleted.object.metadata.resourceVersion) >
          Number(modified.object.metadata.resourceVersion),
      );
    } finally {
      await watch.close();
    }
    const zero = await openWatch(server, `${CM}?watch=1&resourceVersion=0`);
    await api(server, "POST", CM, { metadata: { name: "b" } });
    const [event] = await zero.take(1);
    assert.equal(event.type, "ADDED");
    await zero.close();
  });
});

Deno.test("watch: an exact resourceVersion replays history after it", async () => {
  await withServer(async (server) => {
    const list = await api(server, "GET", CM);
    await api(server, "POST", CM, { metadata: { name: "a" } });
    await api(server, "POST", "/api/v1/namespaces/kube-system/configmaps", {
      metadata: { name: "other" },
    });
    await api(server, "POST", CM, { metadata: { name: "b" } });
    const watch = await openWatch(
      server,
      `${CM}?watch=true&resourceVersion=${list.body.metadata.resourceVersion}`,
    );
    const events = await watch.take(2);
    assert.deepEqual(events.map((e) => e.object.metadata.name), ["a", "b"]);
    await watch.close();
    const all = await openWatch(
      server,
      `/api/v1/configmaps?watch=true&resourceVersion=${list.body.metadata.resourceVersion}`,
    );
    assert.equal((await all.take(3)).length, 3);
    await all.close();
  });
});

Deno.test("watch: resuming before the history window gets 410 as an ERROR event or HTTP 410", async () => {
  for (const expiredAsHttp410 of [false, true]) {
    await withServer(async (server) => {
      const start = await api(server, "GET", CM);
      for (let i = 0; i < 5; i++) await api(server, "POST", CM, { metadata: { name: `c${i}` } });
      const path = `${CM}?watch=true&resourceVersion=${start.body.metadata.resourceVersion}`;
      if (expiredAsHttp410) {
        const response = await api(server, "GET", path);
        assert.equal(response.status, 410);
        assert.equal(response.body.reason, "Gone");
      } else {
        const watch = await openWatch(server, path);
        assert.equal(watch.response.status, 200);
        const error = await watch.next();
        assert.equal(error?.type, "ERROR");
        assert.equal(error?.object.kind, "Status");
        assert.equal(error?.object.code, 410);
        assert.equal(error?.object.reason, "Expired");
        assert.match(error?.object.message, /^too old resource version/);
        assert.equal(await watch.next(), undefined, "the stream ends after the error");
      }
      const recent = await api(server, "GET", CM);
      const ok = await openWatch(
        server,
        `${CM}?watch=true&resourceVersion=${recent.body.metadata.resourceVersion}`,
      );
      await api(server, "POST", CM, { metadata: { name: "after" } });
      assert.equal((await ok.take(1))[0].object.metadata.name, "after");
      await ok.close();
    }, { historyLimit: 3, expiredAsHttp410 });
  }
});

Deno.test("watch: bookmarks only when allowed, carrying only the resourceVersion", async () => {
  // (and creationTimestamp: null, as kube's encoder writes an empty object's zero time)
  await withServer(async (server) => {
    const list = await api(server, "GET", CM);
    const rv = list.body.metadata.resourceVersion;
    const watch = await openWatch(
      server,
      `${CM}?watch=true&allowWatchBookmarks=true&resourceVersion=${rv}`,
    );
    const [bookmark] = await watch.take(1, 2000);
    assert.equal(bookmark.type, "BOOKMARK");
    assert.equal(bookmark.object.kind, "ConfigMap");
    assert.equal(bookmark.object.apiVersion, "v1");
    assert.deepEqual(bookmark.object.metadata, {
      resourceVersion: bookmark.object.metadata.resourceVersion,
      creationTimestamp: null,
    });
    await watch.close();
    const plain = await openWatch(
      server,
      `${CM}?watch=true&resourceVersion=${rv}&timeoutSeconds=1`,
    );
    assert.equal(
      await plain.next(3000),
      undefined,
      "no bookmark without allowWatchBookmarks; closes at timeout",
    );
  }, { bookmarkIntervalMs: 100 });
});

Deno.test("watch: timeoutSeconds ends the stream normally", async () => {
  await withServer(async (server) => {
    const started = Date.now();
    const watch = await openWatch(server, `${CM}?watch=true&resourceVersion=0&timeoutSeconds=1`);
    assert.equal(await watch.next(5000), undefined);
    assert.ok(Date.now() - started >= 900);
  });
});

Deno.test("watch: timeoutSeconds=0 means the server's default, not an immediate end", async () => {
  await withServer(async (server) => {
    const watch = await openWatch(server, `${CM}?watch=true&resourceVersion=0&timeoutSeconds=0`);
    try {
      // What is tested is time: the stream must still be open a while after it started.
      await new Promise((resolve) => setTimeout(resolve, 100));
      await api(server, "POST", CM, { metadata: { name: "later" } });
      const event = await watch.next(2000);
      assert.equal(event?.type, "ADDED");
      assert.equal(event?.object.metadata.name, "later");
    } finally {
      await watch.close();
    }
  });
});

Deno.test("watch: streaming lists end the initial events with an annotated bookmark", async () => {
  await withServer(async (server) => {
    await api(server, "POST", CM, { metadata: { name: "a" } });
    await api(server, "POST", CM, { metadata: { name: "b" } });
    const watch = await openWatch(
      server,
      `${CM}?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan`,
    );
    const events = await watch.take(3);
    assert.deepEqual(events.map((e) => e.type), ["ADDED", "ADDED", "BOOKMARK"]);
    assert.equal(events[2].object.metadata.annotations["k8s.io/initial-events-end"], "true");
    await api(server, "POST", CM, { metadata: { name: "c" } });
    assert.equal((await watch.take(1))[0].object.metadata.name, "c");
    await watch.close();
    const bad = await api(server, "GET", `${CM}?watch=1&sendInitialEvents=true`);
    assert.equal(bad.status, 422);
  });
  await withServer(async (server) => {
    const rejected = await api(
      server,
      "GET",
      `${CM}?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan`,
    );
    assert.equal(rejected.status, 422);
    assert.match(rejected.body.message, /WatchList feature gate/);
  }, { watchList: false });
});

Deno.test("watch: selectors turn objects entering or leaving the selection into ADDED/DELETED", async () => {
  await withServer(async (server) => {
    await api(server, "POST", CM, { metadata: { name: "a", labels: { app: "x" } } });
    const list = await api(server, "GET", CM);
    const watch = await openWatch(
      server,
      `${CM}?watch=true&labelSelector=app%3Dweb&resourceVersion=${list.body.metadata.resourceVersion}`,
    );
    await api(server, "PATCH", `${CM}/a`, { metadata: { labels: { app: "web" } } });
    await api(server, "PATCH", `${CM}/a`, { data: { k: "v" } });
    await api(server, "PATCH", `${CM}/a`, { metadata: { labels: { app: "x" } } });
    await api(server, "POST", CM, { metadata: { name: "other", labels: { app: "x" } } });
    await api(server, "POST", CM, { metadata: { name: "b", labels: { app: "web" } } });
    const events = await watch.take(4);
    assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name}`), [
      "ADDED a",
      "MODIFIED a",
      "DELETED a",
      "ADDED b",
    ]);
    await watch.close();
  });
});

Deno.test("watch: Table watches for kubectl get -w carry one row per event", async () => {
  await withServer(async (server) => {
    const response = await fetch(`${server.url}${CM}?watch=true&resourceVersion=0`, {
      headers: { accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json" },
    });
    const { WatchReader } = await import("./support.ts");
    const watch = new WatchReader(response);
    await api(server, "POST", CM, { metadata: { name: "a" } });
    const [event] = await watch.take(1);
    assert.equal(event.object.kind, "Table");
    assert.equal(event.object.rows[0].cells[0], "a");
    await watch.close();
  });
});

Deno.test("watch: boolean query parameters read as kube reads them (False/0 off, anything else on)", async () => {
  await withServer(async (server) => {
    await api(server, "POST", CM, { metadata: { name: "a" } });
    for (const on of ["True", "TRUE", "1", "yes", ""]) {
      const watch = await openWatch(server, `${CM}?watch=${on}&timeoutSeconds=5`);
      const [event] = await watch.take(1);
      assert.equal(event.type, "ADDED", `watch=${on} watches`);
      await watch.close();
    }
    const bare = await openWatch(server, `${CM}?watch&timeoutSeconds=5`);
    assert.equal((await bare.take(1))[0].type, "ADDED", "a bare ?watch watches");
    await bare.close();
    for (const off of ["False", "FALSE", "false", "0"]) {
      const listed = await api(server, "GET", `${CM}?watch=${off}`);
      assert.equal(listed.body.kind, "ConfigMapList", `watch=${off} lists`);
    }
    const first = await api(server, "GET", `${CM}?watch=0&watch=1`);
    assert.equal(first.body.kind, "ConfigMapList", "the first value counts");
    const rv = first.body.metadata.resourceVersion;
    const bookmarks = await openWatch(
      server,
      `${CM}?watch=True&allowWatchBookmarks=True&resourceVersion=${rv}`,
    );
    assert.equal((await bookmarks.take(1, 2000))[0].type, "BOOKMARK");
    await bookmarks.close();
  }, { bookmarkIntervalMs: 100 });
});
