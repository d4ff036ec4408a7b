// Tenants that slipped past validation, in many shapes: InvalidSpec and no namespace, never a throw,
// and every status written fits the CRD's condition schema.
import { NAMESPACE_ONLY } from "./support.ts";
import assert from "node:assert/strict";
import { parse } from "yaml";
import { decide, readTenant } from "../../../lib/reconcile/mod.ts";

type Json = Record<string, unknown>;

const NOW = new Date("2025-03-01T00:00:00Z");

const crd = parse(await Deno.readTextFile(new URL("../../../deploy/crd.yaml", import.meta.url)));
const schema = crd.spec.versions[0].schema.openAPIV3Schema;
const conditionSchema = schema.properties.status.properties.conditions.items;

function tenant(spec: unknown, metadata: Json = {}): Json {
  return {
    apiVersion: "kleff.kleff.io/v1",
    kind: "Tenant",
    metadata: { name: "t", uid: "uid-1", generation: 1, resourceVersion: "1", ...metadata },
    spec,
  };
}

const GOOD = { userId: "user-1", username: "someone", plan: "basic" };

const invalidSpecs: [string, unknown, RegExp][] = [
  ["spec missing", undefined, /spec: must be an object/],
  ["spec null", null, /spec: must be an object/],
  ["spec array", [GOOD], /spec: must be an object/],
  ["spec string", "basic", /spec: must be an object/],
  ["userId missing", { username: "a", plan: "b" }, /spec.userId: required/],
  ["userId number", { ...GOOD, userId: 12345 }, /spec.userId: must be a string, got 12345/],
  ["userId uppercase", { ...GOOD, userId: "User-1" }, /spec.userId: must be a DNS-1123 label/],
  ["userId underscore", { ...GOOD, userId: "user_1" }, /spec.userId/],
  ["userId leading dash", { ...GOOD, userId: "-user" }, /spec.userId/],
  ["userId empty", { ...GOOD, userId: "" }, /spec.userId/],
  ["userId 64 chars", { ...GOOD, userId: "a".repeat(64) }, /spec.userId/],
  ["userId object", { ...GOOD, userId: { name: "x" } }, /spec.userId: must be a string/],
  ["username space", { ...GOOD, username: "some one" }, /spec.username: must be a label value/],
  ["username trailing dot", { ...GOOD, username: "someone." }, /spec.username/],
  ["username 64 chars", { ...GOOD, username: "a".repeat(64) }, /spec.username/],
  ["username null", { ...GOOD, username: null }, /spec.username: required/],
  ["plan empty", { ...GOOD, plan: "" }, /spec.plan/],
  ["plan slash", { ...GOOD, plan: "a/b" }, /spec.plan/],
  ["plan boolean", { ...GOOD, plan: true }, /spec.plan: must be a string, got true/],
  ["deletionPolicy unknown", { ...GOOD, deletionPolicy: "Nuke" }, /spec.deletionPolicy/],
  ["deletionPolicy lower case", { ...GOOD, deletionPolicy: "delete" }, /spec.deletionPolicy/],
  ["deletionPolicy number", { ...GOOD, deletionPolicy: 1 }, /spec.deletionPolicy/],
];

for (const [name, spec, problem] of invalidSpecs) {
  Deno.test(`invalid spec (${name}): InvalidSpec, no namespace`, () => {
    const decision = decide(tenant(spec), {}, { now: NOW, context: NAMESPACE_ONLY });
    assert.deepEqual(decision.actions.map((action) => action.kind), ["addFinalizer"]);
    const ready = decision.status.conditions?.find((item) => item.type === "NamespaceReady");
    assert.equal(ready?.status, "False");
    assert.equal(ready?.reason, "InvalidSpec");
    assert.match(ready?.message ?? "", problem);
    assert.deepEqual(decision.events.map((event) => [event.type, event.reason]), [
      ["Warning", "InvalidSpec"],
    ]);
  });
}

Deno.test("every problem of a spec is reported at once", () => {
  const reading = readTenant(tenant({ userId: "X", username: "", plan: 3, deletionPolicy: "No" }));
  assert.ok(reading.ok);
  assert.deepEqual(reading.tenant.problems.map((problem) => problem.split(":")[0]), [
    "spec.userId",
    "spec.username",
    "spec.plan",
    "spec.deletionPolicy",
  ]);
  assert.equal(reading.tenant.spec, undefined);
});

Deno.test("a long rejected value is shortened in the message", () => {
  const reading = readTenant(tenant({ ...GOOD, plan: "x".repeat(500) }));
  assert.ok(reading.ok);
  assert.ok(reading.tenant.problems[0].length < 250);
  assert.match(reading.tenant.problems[0], /\.\.\.$/);
});

Deno.test("a name too long for a label value is InvalidSpec", () => {
  const decision = decide(tenant(GOOD, { name: "n".repeat(64) }), {}, {
    now: NOW,
    context: NAMESPACE_ONLY,
  });
  assert.deepEqual(decision.actions.map((action) => action.kind), ["addFinalizer"]);
  assert.match(decision.status.conditions?.[0].message ?? "", /metadata.name: must be at most 63/);
});

Deno.test("valid specs are accepted, with the default deletionPolicy", () => {
  for (
    const spec of [
      GOOD,
      { userId: "a", username: "A", plan: "p" },
      { userId: "0".repeat(63), username: "a_b.c-D", plan: "pro.v2", deletionPolicy: "Retain" },
    ]
  ) {
    const reading = readTenant(tenant(spec));
    assert.ok(reading.ok);
    assert.deepEqual(reading.tenant.problems, []);
    assert.deepEqual(reading.tenant.spec, { deletionPolicy: "Delete", ...spec });
  }
});

for (
  const [name, raw] of [
    ["null", null],
    ["a string", "tenant"],
    ["an array", [1, 2]],
    ["no metadata", { spec: GOOD }],
    ["metadata.name a number", { metadata: { name: 5, uid: "u" }, spec: GOOD }],
    ["no uid", { metadata: { name: "t" }, spec: GOOD }],
  ] as const
) {
  Deno.test(`not a stored object (${name}): ignored with a reason`, () => {
    const decision = decide(raw, {}, { now: NOW, context: NAMESPACE_ONLY });
    assert.deepEqual(decision.actions, []);
    assert.deepEqual(decision.events, []);
    assert.equal(decision.writeStatus, false);
    assert.equal(typeof decision.ignored, "string");
  });
}

Deno.test("garbage metadata and status fields are tolerated", () => {
  const raw = {
    metadata: {
      name: "t",
      uid: "u",
      generation: "one",
      resourceVersion: 5,
      finalizers: "kleff.io/namespace-finalizer",
      deletionTimestamp: null,
    },
    spec: GOOD,
    status: {
      namespace: "Not A Label",
      observedGeneration: "x",
      conditions: [null, 3, { type: "NamespaceReady" }, "TenantReady"],
    },
  };
  const decision = decide(raw, { namespace: { metadata: "weird" } }, {
    now: NOW,
    context: NAMESPACE_ONLY,
  });
  assert.deepEqual(decision.actions.map((action) => action.kind), ["addFinalizer", "create"]);
  assert.equal(decision.status.observedGeneration, undefined);
  assert.equal(decision.status.conditions?.[0].observedGeneration, undefined);
  assert.equal(decision.status.namespace, "user-1");
});

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomJson(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 2 ? 6 : 8));
  const strings = ["", "user-1", "User_1", "basic", "Retain", "a".repeat(70), "True", "ü"];
  switch (pick) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2:
      return Math.floor(next() * 2000) - 1000;
    case 3:
    case 4:
      return strings[Math.floor(next() * strings.length)];
    case 5:
      return undefined;
    case 6:
      return Array.from({ length: Math.floor(next() * 3) }, () => randomJson(next, depth + 1));
    default: {
      const keys = ["userId", "username", "plan", "deletionPolicy", "type", "status", "name"];
      return Object.fromEntries(
        keys.filter(() => next() < 0.4).map((key) => [key, randomJson(next, depth + 1)]),
      );
    }
  }
}

function mutate(next: () => number): Json {
  const object = structuredClone(
    tenant(GOOD, { finalizers: ["kleff.io/namespace-finalizer"] }),
  ) as Json;
  const spec = object.spec as Json;
  const metadata = object.metadata as Json;
  for (const key of ["userId", "username", "plan", "deletionPolicy"]) {
    if (next() < 0.3) spec[key] = randomJson(next, 1);
  }
  if (next() < 0.1) object.spec = randomJson(next, 0);
  if (next() < 0.2) object.status = randomJson(next, 0);
  if (next() < 0.2) metadata.generation = randomJson(next, 1);
  if (next() < 0.2) metadata.finalizers = randomJson(next, 1);
  if (next() < 0.3) metadata.deletionTimestamp = "2025-01-01T00:00:00Z";
  return object;
}

function assertFitsConditionSchema(condition: Json): void {
  for (const field of conditionSchema.required) assert.ok(field in condition, field);
  assert.ok(conditionSchema.properties.status.enum.includes(condition.status));
  assert.match(condition.reason as string, new RegExp(conditionSchema.properties.reason.pattern));
  assert.match(condition.type as string, new RegExp(conditionSchema.properties.type.pattern));
  assert.ok((condition.message as string).length <= conditionSchema.properties.message.maxLength);
  assert.ok(!Number.isNaN(Date.parse(condition.lastTransitionTime as string)));
  assert.match(condition.lastTransitionTime as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
}

Deno.test("2,000 random malformed tenants never throw and only write schema-valid statuses", () => {
  const next = random(20250301);
  for (let round = 0; round < 2000; round++) {
    const object = mutate(next);
    const choice = next();
    const namespace = choice < 0.3 ? randomJson(next, 0) : choice < 0.6 ? undefined : {
      metadata: {
        name: "user-1",
        uid: "ns-uid",
        resourceVersion: "9",
        labels: next() < 0.5 ? randomJson(next, 1) : { "kleff.io/tenant": "t" },
        annotations: { "kleff.io/tenant-uid": next() < 0.7 ? "uid-1" : randomJson(next, 1) },
      },
      status: next() < 0.8 ? { phase: "Active" } : randomJson(next, 1),
    };
    const decision = decide(object, { namespace }, { now: NOW, context: NAMESPACE_ONLY });
    if (decision.writeStatus) {
      for (const condition of decision.status.conditions ?? []) {
        assertFitsConditionSchema(condition as unknown as Json);
      }
    }
    const spec = readTenant(object);
    if (spec.ok && spec.tenant.spec === undefined && !spec.tenant.deleting) {
      assert.ok(
        !decision.actions.some((action) => action.kind === "create" || action.kind === "patch"),
        `invalid spec must not touch a namespace: ${JSON.stringify(object)}`,
      );
    }
  }
});
