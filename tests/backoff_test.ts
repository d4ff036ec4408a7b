import assert from "node:assert/strict";
import { Backoff, sleep } from "../lib/backoff.ts";

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
