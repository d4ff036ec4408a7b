// The Event recorder off the reconcile's path: record returns at once, throttled writes are retried,
// repeats aggregate into one count, a full buffer and shutdown drop Events and count them.
import assert from "node:assert/strict";
import type { Event } from "kubernetes-types/core/v1.d.ts";
import { type EventApi, EventRecorder } from "../../../lib/controller/mod.ts";
import {
  AlreadyExistsError,
  ForbiddenError,
  TooManyRequestsError,
} from "../../../lib/client/mod.ts";
import { Registry } from "../../../lib/metrics/mod.ts";
import { eventually } from "../../support/wait.ts";

/** An in-memory Events API failing the first `throttle` creates with 429. */
function fakeApi(options: { throttle?: number; reject?: boolean; hang?: boolean } = {}) {
  const stored = new Map<string, Event>();
  let throttle = options.throttle ?? 0;
  const api: EventApi = {
    create(event) {
      if (options.hang) return new Promise(() => {});
      if (options.reject) {
        return Promise.reject(
          new ForbiddenError({ code: 403, reason: "Forbidden", message: "no" }),
        );
      }
      if (throttle-- > 0) {
        return Promise.reject(
          new TooManyRequestsError({ code: 429, reason: "TooManyRequests", message: "slow down" }),
        );
      }
      const name = event.metadata!.name!;
      if (stored.has(name)) {
        return Promise.reject(
          new AlreadyExistsError({ code: 409, reason: "AlreadyExists", message: "exists" }),
        );
      }
      stored.set(name, structuredClone(event));
      return Promise.resolve(event);
    },
    get: (name) => Promise.resolve(structuredClone(stored.get(name)!)),
    patch(name, patch) {
      Object.assign(stored.get(name)!, patch as Partial<Event>);
      return Promise.resolve(stored.get(name)!);
    },
  };
  return { api, stored };
}

const subject = { kind: "Tenant", metadata: { name: "t", uid: "u1" } };
const ready = { type: "Normal" as const, reason: "Ready", message: "ready" };

function dropped(registry: Registry, reason: string): number {
  const match = new RegExp(`^kleff_events_dropped_total\\{reason="${reason}"\\} (\\S+)$`, "m")
    .exec(registry.expose());
  return Number(match?.[1] ?? 0);
}

Deno.test("throttled writes are retried until they land; repeats while waiting add to the count", async () => {
  const { api, stored } = fakeApi({ throttle: 3 });
  const registry = new Registry();
  const recorder = new EventRecorder(api, {
    component: "c",
    instance: "i",
    metrics: registry,
    backoff: { initialMs: 5, maxMs: 20 },
  });
  recorder.record(subject, ready);
  recorder.record(subject, ready);
  assert.equal(recorder.pending, 1, "the repeat joined the waiting Event");
  await eventually("written", () => recorder.pending === 0);
  assert.equal(stored.size, 1);
  assert.equal([...stored.values()][0].count, 2);
  recorder.record(subject, ready);
  await eventually("bumped", () => [...stored.values()][0].count === 3);
  assert.equal(dropped(registry, "retries-exhausted"), 0);
  await recorder.flush(100);
});

Deno.test("a full buffer, a rejection, exhausted tries and shutdown each drop and count", async () => {
  const registry = new Registry();
  const hanging = new EventRecorder(fakeApi({ hang: true }).api, {
    component: "c",
    instance: "i",
    metrics: registry,
    maxPending: 2,
  });
  for (const reason of ["A", "B", "C"]) {
    hanging.record(subject, { type: "Normal", reason, message: reason });
  }
  assert.equal(dropped(registry, "buffer-full"), 1);
  await hanging.flush(20);
  assert.equal(dropped(registry, "shutdown"), 2);
  hanging.record(subject, ready);
  assert.equal(dropped(registry, "shutdown"), 3);

  const rejecting = new EventRecorder(fakeApi({ reject: true }).api, {
    component: "c",
    instance: "i",
    metrics: registry,
  });
  rejecting.record(subject, ready);
  await eventually("rejected", () => dropped(registry, "rejected") === 1);

  const throttled = new EventRecorder(fakeApi({ throttle: 100 }).api, {
    component: "c",
    instance: "i",
    metrics: registry,
    maxTries: 3,
    backoff: { initialMs: 1, maxMs: 2 },
  });
  throttled.record(subject, ready);
  await eventually("given up", () => dropped(registry, "retries-exhausted") === 1);
});

Deno.test("while reconciles wait, only Warnings are written, one at a time; then everything at full concurrency", async () => {
  const { api } = fakeApi();
  let inFlight = 0;
  let most = 0;
  const release: (() => void)[] = [];
  const written: string[] = [];
  const slow: EventApi = {
    ...api,
    async create(event, options) {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise<void>((resolve) => release.push(resolve));
      inFlight--;
      written.push(event.reason ?? "");
      return await api.create(event, options);
    },
  };
  let busy = true;
  const recorder = new EventRecorder(slow, {
    component: "c",
    instance: "i",
    concurrency: 4,
    busy: () => busy,
  });
  for (const reason of ["A", "B", "C", "D", "E", "F"]) {
    recorder.record(subject, { type: "Normal", reason, message: reason });
  }
  recorder.record(subject, { type: "Warning", reason: "W1", message: "w1" });
  recorder.record(subject, { type: "Warning", reason: "W2", message: "w2" });
  await eventually("one write started", () => release.length === 1);
  assert.equal(most, 1, "one writer while busy");
  release.shift()!();
  await eventually("the next one started", () => release.length === 1);
  release.shift()!();
  await eventually("both Warnings written", () => written.length === 2);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(written, ["W1", "W2"], "the Warnings only; the Normal Events wait");
  assert.equal(release.length, 0);
  assert.equal(most, 1);
  busy = false;
  // The next Event (or, without one, the recheck within a second) sends the waiting ones.
  recorder.record(subject, { type: "Normal", reason: "G", message: "g" });
  await eventually("four writers once idle", () => release.length === 4);
  assert.equal(most, 4);
  while (recorder.pending > 0) {
    release.shift()?.();
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  assert.deepEqual(written.slice(2).sort(), ["A", "B", "C", "D", "E", "F", "G"]);
  await recorder.flush(100);
});

Deno.test("Normal Events held back while reconciles wait go within a second of the queue going idle, and at shutdown", async () => {
  const { api, stored } = fakeApi();
  let busy = true;
  const recorder = new EventRecorder(api, { component: "c", instance: "i", busy: () => busy });
  recorder.record(subject, { type: "Normal", reason: "A", message: "a" });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(stored.size, 0);
  busy = false;
  await eventually("written without another Event", () => stored.size === 1, {
    timeoutMs: 3000,
  });
  busy = true;
  recorder.record(subject, { type: "Normal", reason: "B", message: "b" });
  await recorder.flush(1000);
  assert.equal(stored.size, 2, "written at shutdown although reconciles still wait");
});

Deno.test("a Normal Event waits its delay and goes with those recorded meanwhile; a Warning goes at once", async () => {
  const { api } = fakeApi();
  const started: { reason: string; at: number }[] = [];
  /** The Normal Events started in the same turn as the first one (before any timer ran). */
  let firstTurn: string[] | undefined;
  const timed: EventApi = {
    ...api,
    create(event, options) {
      started.push({ reason: event.reason ?? "", at: performance.now() });
      if (event.type === "Normal" && firstTurn === undefined) {
        firstTurn = [];
        setTimeout(() => firstTurn!.push(...started.map((write) => write.reason)), 0);
      }
      return api.create(event, options);
    },
  };
  const recorder = new EventRecorder(timed, { component: "c", instance: "i", normalDelayMs: 200 });
  const recorded = performance.now();
  recorder.record(subject, { type: "Normal", reason: "A", message: "a" });
  recorder.record(subject, { type: "Warning", reason: "W", message: "w" });
  await new Promise((resolve) => setTimeout(resolve, 100));
  recorder.record(subject, { type: "Normal", reason: "B", message: "b" });
  assert.deepEqual(started.map((write) => write.reason), ["W"], "the Warning did not wait");
  await eventually("both Normal Events written", () => recorder.pending === 0);
  const normal = started.filter((write) => write.reason !== "W");
  assert.deepEqual(normal.map((write) => write.reason).sort(), ["A", "B"]);
  for (const write of normal) {
    assert.ok(write.at - recorded >= 190, `${write.reason} waited the delay from A's record`);
  }
  assert.deepEqual(firstTurn?.sort(), ["A", "B", "W"], "B went with A, not a delay after B");
  await recorder.flush(100);
});

Deno.test("a full buffer drops a new Normal Event, but a Warning takes the oldest Normal one's place", async () => {
  const registry = new Registry();
  const { api } = fakeApi({ hang: true });
  const recorder = new EventRecorder(api, {
    component: "c",
    instance: "i",
    metrics: registry,
    maxPending: 3,
    concurrency: 1,
    normalDelayMs: 0,
  });
  for (const reason of ["Writing", "Oldest", "Next"]) {
    recorder.record(subject, { type: "Normal", reason, message: reason });
  }
  recorder.record(subject, { type: "Normal", reason: "Late", message: "late" });
  assert.equal(dropped(registry, "buffer-full"), 1, "the new Normal Event");
  recorder.record(subject, { type: "Warning", reason: "Failed", message: "failed" });
  assert.equal(recorder.pending, 3);
  assert.equal(
    dropped(registry, "buffer-full"),
    2,
    "the oldest waiting Normal Event, not the Warning",
  );
  recorder.record(subject, { type: "Warning", reason: "Failed2", message: "failed again" });
  recorder.record(subject, { type: "Warning", reason: "Failed3", message: "and again" });
  assert.equal(
    dropped(registry, "buffer-full"),
    4,
    "no Normal Event left waiting: the Warning goes",
  );
  await recorder.flush(10);
});

Deno.test("a buffer half full is written at full concurrency even while reconciles wait", async () => {
  const release: (() => void)[] = [];
  const { api } = fakeApi();
  const slow: EventApi = {
    ...api,
    async create(event, options) {
      await new Promise<void>((resolve) => release.push(resolve));
      return await api.create(event, options);
    },
  };
  const recorder = new EventRecorder(slow, {
    component: "c",
    instance: "i",
    concurrency: 4,
    maxPending: 8,
    busy: () => true,
  });
  for (const reason of ["A", "B", "C", "D", "E", "F"]) {
    recorder.record(subject, { type: "Normal", reason, message: reason });
  }
  await eventually("four writers", () => release.length === 4);
  while (recorder.pending > 0) {
    release.shift()?.();
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await recorder.flush(100);
});
