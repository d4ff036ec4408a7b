// Resumable watches against the dev API server under each fault: the consumer's view ends equal to the server's objects.
import assert from "node:assert/strict";
import type { ConfigMap } from "kubernetes-types/core/v1.d.ts";
import {
  type DevApiServer,
  type DevApiServerOptions,
  startDevApiServer,
} from "../../../dev_apiserver/mod.ts";
import {
  configMaps,
  KubeClient,
  type ResourceClient,
  type ResumableWatch,
  type WatchTimings,
} from "../../../lib/client/mod.ts";
import { eventually, type EventuallyOptions } from "../../support/wait.ts";

const NS = "watched";
/** Polling of these tests: often, so that each restart reason is seen. */
const POLL: EventuallyOptions = { intervalMs: 10 };
const TIMINGS: WatchTimings = {
  inactivityTimeoutMs: 400,
  initialEventsTimeoutMs: 2_000,
  backoff: { initialMs: 20, maxMs: 200, resetAfterMs: 1_000 },
};

/** A consumer that applies events to a name -> resourceVersion view and flags impossible sequences. */
class View {
  readonly objects = new Map<string, string>();
  readonly problems: string[] = [];
  syncs = 0;
  #task: Promise<void>;

  constructor(watch: ResumableWatch<ConfigMap>) {
    this.#task = (async () => {
      for await (const event of watch) {
        if (event.type === "SYNCED") {
          this.syncs++;
          continue;
        }
        const name = event.object.metadata!.name!;
        const known = this.objects.has(name);
        if (event.type === "ADDED" && known) this.problems.push(`ADDED twice: ${name}`);
        if (event.type !== "ADDED" && !known) {
          this.problems.push(`${event.type} of unknown ${name}`);
        }
        if (event.type === "DELETED") this.objects.delete(name);
        else this.objects.set(name, event.object.metadata!.resourceVersion!);
      }
    })();
  }

  done(): Promise<void> {
    return this.#task;
  }
}

interface Setup {
  server: DevApiServer;
  kube: KubeClient;
  cms: ResourceClient<ConfigMap>;
  view: View;
  watch: ResumableWatch<ConfigMap>;
  lists: () => number;
  mutate: (round: number) => Promise<void>;
}

/**
 * A dev API server with namespace `NS` holding ConfigMaps seed-0..seed-4, and a client of it.
 * Bookmarks every 100 ms keep healthy watches from tripping the 400 ms inactivity timeout.
 */
async function seeded(
  options: DevApiServerOptions,
): Promise<{ server: DevApiServer; kube: KubeClient; cms: ResourceClient<ConfigMap> }> {
  const server = await startDevApiServer({ bookmarkIntervalMs: 100, ...options });
  const kube = new KubeClient({
    server: server.url,
    namespace: "default",
    insecureSkipTlsVerify: false,
    auth: { kind: "none" },
    source: { kind: "in-cluster", dir: "/none" },
  }, { backoff: { initialMs: 10, maxMs: 50 } });
  const cms = kube.resource<ConfigMap>(configMaps);
  try {
    await kube.request({
      method: "POST",
      path: "/api/v1/namespaces",
      body: { metadata: { name: NS } },
    });
    for (let i = 0; i < 5; i++) {
      await cms.create({ metadata: { name: `seed-${i}` } }, { namespace: NS });
    }
  } catch (error) {
    kube.close();
    await server.close();
    throw error;
  }
  return { server, kube, cms };
}

async function withWatch(
  options: DevApiServerOptions & { streamingList?: boolean; timings?: WatchTimings },
  fn: (setup: Setup) => Promise<void>,
): Promise<void> {
  const { streamingList, timings, ...serverOptions } = options;
  const { server, kube, cms } = await seeded(serverOptions);
  const controller = new AbortController();
  try {
    const watch = cms.watch({
      namespace: NS,
      signal: controller.signal,
      streamingList,
      timings: { ...TIMINGS, ...timings },
    });
    const view = new View(watch);
    const lists = () => server.counters.count({ verb: "list", resource: "configmaps" });
    const mutate = async (round: number) => {
      await cms.create({ metadata: { name: `new-${round}` } }, { namespace: NS });
      await cms.patch("seed-4", { data: { round: String(round) } }, { namespace: NS });
      await cms.delete(`seed-${round}`, { namespace: NS });
    };
    await eventually("initial sync", () => view.syncs === 1, POLL);
    await fn({ server, kube, cms, view, watch, lists, mutate });
    await assertConverged(cms, view);
    controller.abort();
    await view.done();
  } finally {
    controller.abort();
    kube.close();
    await server.close();
  }
}

/** The consumer's view equals the server's objects exactly, with no impossible event sequences. */
async function assertConverged(cms: ResourceClient<ConfigMap>, view: View): Promise<void> {
  const expected = async () =>
    new Map(
      (await cms.list({ namespace: NS })).items.map((
        cm,
      ) => [cm.metadata!.name!, cm.metadata!.resourceVersion!]),
    );
  const deadline = Date.now() + 10_000;
  let want = await expected();
  while (
    JSON.stringify([...view.objects].sort()) !== JSON.stringify([...want].sort()) &&
    Date.now() < deadline
  ) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    want = await expected();
  }
  assert.deepEqual(new Map([...view.objects].sort()), new Map([...want].sort()));
  assert.deepEqual(view.problems, []);
}

for (const streamingList of [true, false]) {
  const mode = streamingList ? "streaming list" : "list + watch";

  Deno.test(`${mode}: dropped connections resume without a LIST`, async () => {
    await withWatch({ streamingList }, async ({ server, lists, mutate, watch }) => {
      const before = lists();
      for (let round = 0; round < 3; round++) {
        await eventually("an open watch to drop", () => server.faults.dropWatches() > 0, POLL);
        await mutate(round);
      }
      await mutate(3);
      assert.ok(watch.health().restarts >= 3);
      assert.equal(lists(), before, "no LIST on a plain reconnect");
    });
  });

  Deno.test(`${mode}: compaction (410 as an ERROR event) relists and corrects the view`, async () => {
    await withWatch({ streamingList, historyLimit: 5 }, async ({ server, view, mutate, watch }) => {
      server.faults.stallWatches(true);
      for (let round = 0; round < 4; round++) await mutate(round);
      // Dropped while stalled, the buffered events never reach the client: it must resume from before the compaction.
      server.faults.compact();
      server.faults.dropWatches();
      server.faults.stallWatches(false);
      await eventually("a relist after 410", () => view.syncs >= 2, POLL);
      assert.match(watch.health().lastRestartReason ?? "", /resourceVersion expired \(Expired\)/);
    });
  });
}

Deno.test("compaction answered as plain HTTP 410 relists too", async () => {
  await withWatch(
    { expiredAsHttp410: true, streamingList: false },
    async ({ server, view, mutate, lists, watch }) => {
      const before = lists();
      server.faults.stallWatches(true);
      for (let round = 0; round < 3; round++) await mutate(round);
      server.faults.compact();
      server.faults.dropWatches();
      server.faults.stallWatches(false);
      await eventually("a relist after HTTP 410", () => view.syncs >= 2, POLL);
      assert.match(watch.health().lastRestartReason ?? "", /resourceVersion expired \(Gone\)/);
      assert.ok(lists() > before, "410 needs a fresh LIST");
    },
  );
});

Deno.test("429 and 500 bursts on watch back off (Retry-After honoured) and resume without a LIST", async () => {
  await withWatch({ streamingList: false }, async ({ server, lists, mutate, watch }) => {
    const before = lists();
    server.faults.failNext({ status: 500, verb: "watch", resource: "configmaps", count: 3 });
    server.faults.dropWatches();
    await mutate(0);
    await eventually(
      "500 burst",
      () => server.counters.count({ verb: "watch", resource: "configmaps", code: 500 }) === 3,
      POLL,
    );
    server.faults.failNext({
      status: 429,
      verb: "watch",
      resource: "configmaps",
      count: 2,
      retryAfterSeconds: 1,
    });
    const started = Date.now();
    server.faults.dropWatches();
    await mutate(1);
    await eventually(
      "429 burst",
      () => server.counters.count({ verb: "watch", resource: "configmaps", code: 429 }) === 2,
      POLL,
    );
    await eventually(
      "resume",
      () => watch.health().lastRestartReason === "watch ended" || Date.now() - started > 1_000,
      POLL,
    );
    assert.ok(Date.now() - started >= 1_000, "waited for Retry-After");
    assert.equal(lists(), before);
  });
});

Deno.test("server-side timeouts (timeoutSeconds=1) end watches normally; resumes need no LIST", async () => {
  await withWatch(
    {
      streamingList: false,
      timings: { minTimeoutSeconds: 1, maxTimeoutSeconds: 1, inactivityTimeoutMs: 5_000 },
    },
    async ({ server, lists, mutate, watch }) => {
      const before = lists();
      await mutate(0);
      const reasons: string[] = [];
      await eventually("two server-side timeouts", () => {
        const reason = watch.health().lastRestartReason;
        if (reason && reasons.at(-1) !== reason) reasons.push(reason);
        return watch.health().restarts >= 2;
      }, { ...POLL, timeoutMs: 5_000 });
      assert.deepEqual(reasons, ["watch ended"]);
      await mutate(1);
      assert.equal(lists(), before);
      assert.equal(server.counters.count({ verb: "watch", resource: "configmaps", code: 410 }), 0);
    },
  );
});

Deno.test("a silent (stalled) connection is detected by the inactivity timeout and resumed without a LIST", async () => {
  await withWatch({ streamingList: false }, async ({ server, lists, mutate, watch }) => {
    const before = lists();
    server.faults.stallWatches(true);
    await mutate(0);
    await eventually(
      "inactivity restart",
      () => (watch.health().lastRestartReason ?? "").startsWith("no bytes"),
      { ...POLL, timeoutMs: 5_000 },
    );
    server.faults.stallWatches(false);
    await mutate(1);
    assert.equal(lists(), before);
  });
});

Deno.test("a server without streaming lists (watchList: false) falls back to list + watch", async () => {
  await withWatch({ watchList: false }, async ({ lists, mutate, watch }) => {
    assert.equal(lists(), 1);
    assert.match(
      watch.health().lastRestartReason ?? "",
      /streaming list rejected \((400|422|403)\)/,
    );
    await mutate(0);
  });
});

Deno.test("forgetAfterSync: a 410 after the initial state resumes from a one-item list, yields SYNCED alone, then passes events on as sent", async () => {
  const { server, kube, cms } = await seeded({ historyLimit: 5 });
  const controller = new AbortController();
  try {
    const watch = cms.watch({
      namespace: NS,
      signal: controller.signal,
      timings: TIMINGS,
      forgetAfterSync: true,
    });
    const events: string[] = [];
    const task = (async () => {
      for await (const event of watch) {
        events.push(
          event.type === "SYNCED" ? "SYNCED" : `${event.type} ${event.object.metadata?.name}`,
        );
      }
    })();
    const syncs = () => events.filter((event) => event === "SYNCED").length;
    await eventually("initial state", () => syncs() === 1, POLL);
    assert.deepEqual(events, [...[0, 1, 2, 3, 4].map((i) => `ADDED seed-${i}`), "SYNCED"]);
    const lists = () => server.counters.count({ verb: "list", resource: "configmaps" });
    const before = lists();
    server.faults.stallWatches(true);
    for (let round = 0; round < 4; round++) {
      await cms.create({ metadata: { name: `gap-${round}` } }, { namespace: NS });
      await cms.delete(`seed-${round}`, { namespace: NS });
    }
    server.faults.compact();
    server.faults.dropWatches();
    server.faults.stallWatches(false);
    await eventually("resumed after 410", () => syncs() === 2, POLL);
    assert.equal(lists(), before + 1, "one list, for its resourceVersion");
    assert.deepEqual(events.slice(6), ["SYNCED"], "no object of the gap is reported");
    // An object never reported (created in the gap) is deleted: the deletion passes as sent.
    await cms.delete("gap-0", { namespace: NS });
    await cms.create({ metadata: { name: "after" } }, { namespace: NS });
    await eventually("events after the resume", () => events.length === 9, POLL);
    assert.deepEqual(events.slice(7), ["DELETED gap-0", "ADDED after"]);
    controller.abort();
    await task;
  } finally {
    controller.abort();
    kube.close();
    await server.close();
  }
});
