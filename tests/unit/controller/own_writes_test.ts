// The record of the operator's own writes: an echo is recognised by its exact resourceVersion,
// anything else is foreign, events during a write wait for its answer, and nothing is kept for
// long.
import assert from "node:assert/strict";
import { ownWriteKey, OwnWrites } from "../../../lib/controller/mod.ts";

const KEY = ownWriteKey("Tenant.kleff.kleff.io", undefined, "t");

Deno.test("the echo of an own write is own once; any other version is foreign", () => {
  const writes = new OwnWrites();
  const foreign: string[] = [];
  writes.begin(KEY)("12");
  assert.equal(writes.observe(KEY, "11", () => foreign.push("11")), "foreign");
  assert.equal(writes.observe(KEY, "12", () => foreign.push("12")), "own");
  assert.equal(writes.observe(KEY, "12", () => foreign.push("12 again")), "foreign");
  assert.equal(writes.observe(ownWriteKey("Tenant", undefined, "u"), "12", () => {}), "foreign");
  assert.deepEqual(foreign, ["11", "12 again"]);
  assert.equal(writes.size, 0, "nothing is kept once echoed");
});

Deno.test("an event during a write waits for its answer: own if it carries its version", () => {
  const writes = new OwnWrites();
  const foreign: string[] = [];
  const first = writes.begin(KEY);
  const second = writes.begin(KEY);
  assert.equal(writes.observe(KEY, "20", () => foreign.push("20")), "held");
  assert.equal(writes.observe(KEY, "21", () => foreign.push("21")), "held");
  first("20");
  assert.deepEqual(foreign, [], "still waiting for the second write");
  second(undefined);
  assert.deepEqual(foreign, ["21"], "the echo of the first write is dropped, the other queued");
  assert.equal(writes.size, 0);
});

Deno.test("a write without an answer makes the events it held foreign", () => {
  const writes = new OwnWrites();
  const foreign: string[] = [];
  const answered = writes.begin(KEY);
  writes.observe(KEY, "30", () => foreign.push("30"));
  answered(undefined);
  assert.deepEqual(foreign, ["30"]);
});

Deno.test("a watched object covers the own writes it is at least as new as", () => {
  const writes = new OwnWrites();
  assert.ok(writes.covers(KEY, "5"), "nothing written");
  writes.begin(KEY)("40");
  assert.ok(!writes.covers(KEY, "39"));
  assert.ok(writes.covers(KEY, "40"));
  assert.ok(writes.covers(KEY, "100"), "a longer number is newer");
  assert.ok(!writes.covers(KEY, "opaque"), "versions that cannot be ordered count as older");
  assert.ok(!writes.covers(KEY, undefined));
  const during = writes.begin(KEY);
  assert.ok(!writes.covers(KEY, "100"), "never while a write is in flight");
  during("41");
  writes.observe(KEY, "41", () => {});
  assert.ok(writes.covers(KEY, "7"), "once echoed (with the earlier one) nothing is awaited");
});

Deno.test("own writes whose echo never comes are forgotten after the TTL", () => {
  let now = 0;
  const writes = new OwnWrites({ ttlMs: 1000, now: () => now });
  writes.begin(KEY)("50");
  now = 2000;
  writes.begin(ownWriteKey("Namespace", undefined, "ns"))("60");
  assert.equal(writes.observe(KEY, "50", () => {}), "foreign", "forgotten: foreign again");
});
