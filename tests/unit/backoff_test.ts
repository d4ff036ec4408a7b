// The backoff policy and the abortable sleep every retry loop of the operator uses.
import assert from "node:assert/strict";
import { Backoff, backoffDelay, sleep } from "../../lib/backoff.ts";

Deno.test("backoffDelay grows by the factor, is capped, and jitter stays within bounds", () => {
  const policy = { initialMs: 100, maxMs: 1000, jitter: 0 };
  assert.deepEqual(
    [0, 1, 2, 3, 4, 10].map((n) => backoffDelay(policy, n)),
    [100, 200, 400, 800, 1000, 1000],
  );
  const jittered = { initialMs: 100, maxMs: 10_000, jitter: 1 };
  assert.equal(backoffDelay(jittered, 0, () => 0), 100);
  assert.equal(backoffDelay(jittered, 0, () => 0.5), 150);
  assert.equal(backoffDelay(jittered, 20, () => 0.99), 10_000);
});

Deno.test("Backoff grows per failure, stays under the cap, and starts over after a healthy period", () => {
  const backoff = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0, resetAfterMs: 5000 });
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => backoff.next(i)), [
    100,
    200,
    400,
    800,
    1000,
    1000,
  ]);
  assert.equal(backoff.next(10_000), 100, "reset after 5 s without failures");
  assert.equal(backoff.next(10_001), 200);
  backoff.reset();
  assert.equal(backoff.next(10_002), 100);
  const jittered = new Backoff({ initialMs: 100, maxMs: 150 });
  for (let i = 0; i < 20; i++) assert.ok(jittered.next() <= 150);
});

Deno.test("sleep rejects with the abort reason at once", async () => {
  const controller = new AbortController();
  const started = Date.now();
  const sleeping = sleep(10_000, controller.signal);
  controller.abort(new Error("stop"));
  await assert.rejects(sleeping, /stop/);
  assert.ok(Date.now() - started < 5000);
});
