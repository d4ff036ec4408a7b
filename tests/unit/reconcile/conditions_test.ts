// Condition building (lastTransitionTime rules, observedGeneration), the TenantReady summary,
// transition events, status equality and minimal metadata patches.
import assert from "node:assert/strict";
import type { Condition } from "kubernetes-types/meta/v1.d.ts";
import {
  buildConditions,
  type ConditionInput,
  MAX_MESSAGE_LENGTH,
  metadataPatch,
  statusEqual,
  summarize,
  transitionEvents,
} from "../../../lib/reconcile/mod.ts";
import { formatTime } from "../../../lib/api/mod.ts";

const T1 = new Date("2025-01-01T00:00:00.123Z");
const T2 = new Date("2025-01-02T00:00:00Z");

const input = (type: string, status: ConditionInput["status"], reason: string): ConditionInput => ({
  type,
  status,
  reason,
  message: `${type} ${reason}`,
});

Deno.test("formatTime writes RFC 3339 with whole seconds", () => {
  assert.equal(formatTime(T1), "2025-01-01T00:00:00Z");
});

Deno.test("lastTransitionTime: new, same status, changed status", () => {
  const first = buildConditions([], [input("A", "False", "X")], { generation: 1, now: T1 });
  assert.deepEqual(first, [{
    type: "A",
    status: "False",
    reason: "X",
    message: "A X",
    lastTransitionTime: "2025-01-01T00:00:00Z",
    observedGeneration: 1,
  }]);
  const reasonOnly = buildConditions(first, [input("A", "False", "Y")], { generation: 2, now: T2 });
  assert.equal(reasonOnly[0].lastTransitionTime, "2025-01-01T00:00:00Z");
  assert.equal(reasonOnly[0].observedGeneration, 2);
  const flipped = buildConditions(reasonOnly, [input("A", "True", "Y")], { now: T2 });
  assert.equal(flipped[0].lastTransitionTime, "2025-01-02T00:00:00Z");
  assert.equal("observedGeneration" in flipped[0], false);
});

Deno.test("long messages are cut to the maximum", () => {
  const long = { ...input("A", "False", "X"), message: "m".repeat(5000) };
  const [condition] = buildConditions([], [long], { now: T1 });
  assert.equal(condition.message.length, MAX_MESSAGE_LENGTH);
  assert.ok(condition.message.endsWith("..."));
});

Deno.test("summary: all True is Ready, else the first failing reason", () => {
  assert.deepEqual(summarize([input("A", "True", "Ok"), input("B", "True", "Ok")]), {
    type: "TenantReady",
    status: "True",
    reason: "Ready",
    message: "all conditions are True (A, B)",
  });
  assert.deepEqual(
    summarize([input("A", "True", "Ok"), input("B", "False", "Bad"), input("C", "Unknown", "Hm")]),
    { type: "TenantReady", status: "False", reason: "Bad", message: "B: B Bad" },
  );
});

Deno.test("transition events: warnings for new failures, one Normal for readiness", () => {
  const failing = buildConditions([], [
    input("A", "False", "Bad"),
    summarize([input("A", "False", "Bad")]),
  ], {
    now: T1,
  });
  assert.deepEqual(transitionEvents([], failing), [
    { type: "Warning", reason: "Bad", message: "A Bad" },
  ]);
  assert.deepEqual(transitionEvents(failing, failing), []);
  const messageOnly: Condition[] = failing.map((item) => ({ ...item, message: "other" }));
  assert.deepEqual(transitionEvents(failing, messageOnly), []);
  const ready = buildConditions(failing, [
    input("A", "True", "Ok"),
    summarize([input("A", "True", "Ok")]),
  ], {
    now: T2,
  });
  assert.deepEqual(transitionEvents(failing, ready), [
    { type: "Normal", reason: "Ready", message: "all conditions are True (A)" },
  ]);
});

Deno.test("statusEqual: deep, key order free, array order strict, undefined is absent", () => {
  assert.ok(statusEqual({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 }));
  assert.ok(!statusEqual({ a: [1, 2] }, { a: [2, 1] }));
  assert.ok(statusEqual({ a: 1, b: undefined }, { a: 1 }));
  assert.ok(!statusEqual({ a: 1 }, { a: 1, b: null }));
  assert.ok(!statusEqual({ a: "1" }, { a: 1 }));
  assert.ok(!statusEqual(undefined, {}));
  assert.ok(!statusEqual({ a: {} }, { a: [] }));
  assert.ok(statusEqual(null, null));
});

Deno.test("metadataPatch: only differing keys, null removes present keys, resourceVersion lock", () => {
  const current = {
    labels: { keep: "x", wrong: "old", gone: "y" },
    annotations: { "a": "1" },
    resourceVersion: "42",
  };
  assert.deepEqual(
    metadataPatch(current, {
      labels: { keep: "x", wrong: "new", missing: "m", gone: null, absent: null },
      annotations: { a: "1" },
    }),
    { metadata: { resourceVersion: "42", labels: { wrong: "new", missing: "m", gone: null } } },
  );
  assert.equal(metadataPatch(current, { labels: { keep: "x", absent: null } }), undefined);
  assert.deepEqual(metadataPatch({ labels: {}, annotations: {} }, { annotations: { b: "2" } }), {
    metadata: { annotations: { b: "2" } },
  });
});
