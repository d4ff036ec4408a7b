// The work queue: coalescing, one run per key at a time, bounded concurrency, backoff and shutdown.
import assert from "node:assert/strict";
import { WorkQueue } from "../../../lib/queue/work_queue.ts";
import { Registry } from "../../../lib/metrics/registry.ts";
import { eventually, type EventuallyOptions, sleep } from "../../support/wait.ts";

/** Polling of these tests: often, so that short-lived states are seen. */
const POLL: EventuallyOptions = { timeoutMs: 2000, intervalMs: 2 };

Deno.test("adds of a waiting key coalesce into one run", async () => {
  const queue = new WorkQueue({ name: "t", concurrency: 1 });
  const seen: string[] = [];
  const controller = new AbortController();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  queue.add("blocker");
  const running = queue.run(async (key) => {
    seen.push(key);
    if (key === "blocker") await gate;
  }, controller.signal);
  await eventually("queue.active === 1", () => queue.active === 1, POLL);
  queue.add("a");
  queue.add("a");
  queue.add("b");
  queue.add("a");
  assert.equal(queue.depth, 2);
  release();
  await eventually(
    "seen.length === 3 && queue.active === 0",
    () => seen.length === 3 && queue.active === 0,
    POLL,
  );
  controller.abort();
  await running;
  assert.deepEqual(seen, ["blocker", "a", "b"]);
});

Deno.test("a key added while it runs runs exactly once more, never concurrently", async () => {
  const queue = new WorkQueue({ name: "t", concurrency: 4 });
  let concurrent = 0;
  let maxConcurrent = 0;
  let runs = 0;
  const controller = new AbortController();
  const running = queue.run(async () => {
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    runs++;
    await sleep(20);
    concurrent--;
  }, controller.signal);
  queue.add("k");
  await eventually("queue.active === 1", () => queue.active === 1, POLL);
  for (let i = 0; i < 10; i++) queue.add("k");
  await eventually(
    "runs === 2 && queue.active === 0",
    () => runs === 2 && queue.active === 0,
    POLL,
  );
  // Idle: nothing waiting, nothing running, and the handler asks for no requeue, so no third run.
  assert.equal(queue.depth, 0);
  controller.abort();
  await running;
  assert.equal(runs, 2);
  assert.equal(maxConcurrent, 1);
});

Deno.test("concurrency bounds the number of keys processed at once", async () => {
  const queue = new WorkQueue({ name: "t", concurrency: 3 });
  let concurrent = 0;
  let maxConcurrent = 0;
  const done = new Set<string>();
  const controller = new AbortController();
  const running = queue.run(async (key) => {
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    await sleep(5);
    concurrent--;
    done.add(key);
  }, controller.signal);
  for (let i = 0; i < 30; i++) queue.add(`k${i}`);
  await eventually("done.size === 30", () => done.size === 30, POLL);
  controller.abort();
  await running;
  assert.equal(maxConcurrent, 3);
});

Deno.test("failures retry with growing per-key backoff and reset on success", async () => {
  const registry = new Registry();
  const errors: number[] = [];
  const queue = new WorkQueue({
    name: "tenants",
    concurrency: 2,
    backoff: { initialMs: 10, maxMs: 1000, jitter: 0 },
    metrics: registry,
    onError: (_key, _error, delay) => errors.push(delay),
  });
  let attempts = 0;
  const controller = new AbortController();
  const running = queue.run((key) => {
    if (key !== "flaky") return Promise.resolve();
    attempts++;
    return attempts <= 3 ? Promise.reject(new Error("boom")) : Promise.resolve();
  }, controller.signal);
  queue.add("flaky");
  await eventually("attempts === 4", () => attempts === 4, POLL);
  await eventually("queue.active === 0", () => queue.active === 0, POLL);
  assert.deepEqual(errors, [10, 20, 40]);
  assert.equal(queue.failures("flaky"), 0);
  controller.abort();
  await running;
  const text = registry.expose();
  assert.match(text, /^workqueue_retries_total\{name="tenants"\} 3$/m);
  assert.match(text, /^workqueue_adds_total\{name="tenants"\} 4$/m);
  assert.match(text, /^workqueue_depth\{name="tenants"\} 0$/m);
  assert.match(text, /^workqueue_work_duration_seconds_count\{name="tenants"\} 4$/m);
  assert.match(
    text,
    /^controller_runtime_reconcile_total\{controller="tenants",result="error"\} 3$/m,
  );
  assert.match(
    text,
    /^controller_runtime_reconcile_total\{controller="tenants",result="success"\} 1$/m,
  );
  assert.match(text, /^controller_runtime_reconcile_errors_total\{controller="tenants"\} 3$/m);
  assert.match(
    text,
    /^controller_runtime_reconcile_time_seconds_count\{controller="tenants"\} 4$/m,
  );
  assert.match(text, /^controller_runtime_max_concurrent_reconciles\{controller="tenants"\} 2$/m);
});

Deno.test("requeueAfterMs schedules another run; an earlier delay wins", async () => {
  const queue = new WorkQueue({ name: "t", concurrency: 1 });
  const times: number[] = [];
  const controller = new AbortController();
  const start = performance.now();
  const running = queue.run(() => {
    times.push(performance.now() - start);
    return Promise.resolve(times.length === 1 ? { requeueAfterMs: 30 } : undefined);
  }, controller.signal);
  queue.add("k");
  queue.addAfter("other", 10_000);
  queue.addAfter("other", 5);
  await eventually("times.length === 3", () => times.length === 3, POLL);
  controller.abort();
  await running;
  assert.ok(times[2] >= 25, `requeue ran after ${times[2]} ms`);
});

Deno.test("shutdown waits for running handlers and drops delayed keys", async () => {
  const queue = new WorkQueue({ name: "t", concurrency: 2 });
  const controller = new AbortController();
  let finished = false;
  const running = queue.run(async () => {
    await sleep(30);
    finished = true;
  }, controller.signal);
  queue.add("slow");
  queue.addAfter("later", 60_000);
  await eventually("queue.active === 1", () => queue.active === 1, POLL);
  controller.abort();
  await running;
  assert.equal(finished, true);
  queue.add("after-stop");
  assert.equal(queue.depth, 0);
});

Deno.test("concurrency below one is refused", () => {
  assert.throws(() => new WorkQueue({ name: "t", concurrency: 0 }), RangeError);
});

Deno.test("a retry result runs the key again with backoff but is not an error", async () => {
  const registry = new Registry();
  const errors: string[] = [];
  const queue = new WorkQueue({
    name: "t",
    concurrency: 1,
    metrics: registry,
    backoff: { initialMs: 1, maxMs: 5, jitter: 0 },
    onError: (key) => errors.push(key),
  });
  const controller = new AbortController();
  let runs = 0;
  const running = queue.run(() => {
    runs++;
    return Promise.resolve(runs < 3 ? { retry: true } : {});
  }, controller.signal);
  queue.add("k");
  await eventually(
    "runs === 3 && queue.active === 0",
    () => runs === 3 && queue.active === 0,
    POLL,
  );
  controller.abort();
  await running;
  const text = registry.expose();
  assert.deepEqual(errors, []);
  assert.match(text, /controller_runtime_reconcile_total\{controller="t",result="requeue"\} 2/);
  assert.match(text, /controller_runtime_reconcile_total\{controller="t",result="success"\} 1/);
  assert.match(text, /workqueue_retries_total\{name="t"\} 2/);
  assert.doesNotMatch(text, /controller_runtime_reconcile_errors_total\{controller="t"\} [1-9]/);
  assert.equal(queue.failures("k"), 0);
});

Deno.test("a handler past the deadline gets an aborted signal and counts as a failure; a stuck one shows its age", async () => {
  const registry = new Registry();
  const errors: unknown[] = [];
  const queue = new WorkQueue({
    name: "t",
    concurrency: 2,
    metrics: registry,
    timeoutMs: 50,
    backoff: { initialMs: 60_000, maxMs: 60_000 },
    onError: (_key, error) => errors.push(error),
  });
  const controller = new AbortController();
  let releaseStuck!: () => void;
  const stuck = new Promise<void>((resolve) => releaseStuck = resolve);
  queue.add("polite");
  queue.add("stuck");
  const running = queue.run(async (key, signal) => {
    if (key === "stuck") return await stuck;
    await new Promise<void>((_, reject) =>
      signal.addEventListener("abort", () => reject(signal.reason), { once: true })
    );
  }, controller.signal);
  await eventually("the polite handler aborted", () => errors.length === 1, POLL);
  assert.match(String(errors[0]), /polite: aborted after 0.05 s \(the reconcile deadline\)/);
  await eventually("the stuck one older than 100 ms", () => {
    return (queue.oldestRunning()?.ageMs ?? 0) > 100;
  }, POLL);
  assert.equal(queue.oldestRunning()?.key, "stuck");
  const exposed = registry.expose();
  const longest = Number(
    /^workqueue_longest_running_processor_seconds\{name="t"\} (\S+)$/m.exec(exposed)?.[1],
  );
  const unfinished = Number(
    /^workqueue_unfinished_work_seconds\{name="t"\} (\S+)$/m.exec(exposed)?.[1],
  );
  assert.ok(longest > 0.1, `longest running ${longest} s`);
  assert.ok(unfinished >= longest);
  releaseStuck();
  controller.abort();
  await running;
  assert.equal(queue.oldestRunning(), undefined);
  assert.match(registry.expose(), /^workqueue_longest_running_processor_seconds\{name="t"\} 0$/m);
});

Deno.test("a waiting key carries its latest item to its run, which then forgets it", async () => {
  const queue = new WorkQueue<string>({ name: "t", concurrency: 1 });
  const seen: [string, string | undefined][] = [];
  const controller = new AbortController();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  queue.add("blocker");
  const running = queue.run(async (key, _signal, item) => {
    seen.push([key, item]);
    if (key === "blocker") await gate;
  }, controller.signal);
  await eventually("queue.active === 1", () => queue.active === 1, POLL);
  queue.add("a", "a1");
  queue.add("a", "a2");
  queue.add("a");
  queue.carry("b", "b1");
  queue.add("c");
  queue.carry("c", "c1");
  queue.add("blocker", "while running");
  release();
  await eventually("four runs, idle", () => seen.length === 4 && queue.active === 0, POLL);
  // Nothing is carried any more: a plain add now runs without an item.
  queue.add("a");
  await eventually("five runs, idle", () => seen.length === 5 && queue.active === 0, POLL);
  controller.abort();
  await running;
  assert.deepEqual(seen, [
    ["blocker", undefined],
    ["a", "a2"],
    ["c", "c1"],
    ["blocker", "while running"],
    ["a", undefined],
  ]);
});
