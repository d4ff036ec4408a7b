// Server-side apply's field ownership in the dev API server: field sets and fieldsV1, the typed
// comparison and merge, Update tracking and Apply with conflicts, pruning and kube's caps.
import assert from "node:assert/strict";
import { FieldSet, pathString } from "../../../dev_apiserver/storage/field_set.ts";
import {
  builtinType,
  DEDUCED,
  type MapType,
  objectType,
  SCALAR,
} from "../../../dev_apiserver/storage/field_types.ts";
import {
  decodeManagedFields,
  encodeManagedFields,
  ManagedFieldsError,
  type Managers,
  trackApply,
  type Tracking,
  trackUpdate,
} from "../../../dev_apiserver/storage/managed_fields.ts";
import { compare, fieldSetOf, merge } from "../../../dev_apiserver/storage/typed.ts";
import { ApiError } from "../../../dev_apiserver/http/status.ts";
import type { KubeObject } from "../../../dev_apiserver/types.ts";

const CONFIGMAP = builtinType("/configmaps");
const PORTS: MapType = objectType({
  spec: {
    kind: "map",
    fields: {
      ports: {
        kind: "list",
        list: "map",
        keys: ["name"],
        items: { kind: "map", fields: { name: SCALAR, port: SCALAR } },
      },
      tags: { kind: "list", list: "set", items: SCALAR },
      args: { kind: "list", list: "atomic", items: SCALAR },
      extra: DEDUCED,
    },
  },
});

function tracking(
  manager: string,
  type: MapType = CONFIGMAP,
  now = "2024-01-01T00:00:00Z",
): Tracking {
  return { type, apiVersion: "v1", manager, ignored: () => false, now };
}

function fieldsOf(managers: Managers): Record<string, unknown> {
  return Object.fromEntries(
    encodeManagedFields(managers).map((e) => [`${e.manager}/${e.operation}`, e.fieldsV1]),
  );
}

function cm(data: Record<string, string>, labels?: Record<string, string>): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "c", namespace: "default", ...(labels ? { labels } : {}) },
    data,
  };
}

Deno.test("field sets: fieldsV1 round trip, '.' for members with children, kube's order", () => {
  const fieldsV1 = {
    "f:data": { ".": {}, "f:a": {}, "f:b": {} },
    "f:spec": {
      "f:ports": { 'k:{"name":"http"}': { ".": {}, "f:port": {} } },
      "f:tags": { 'v:"x"': {} },
    },
  };
  const set = FieldSet.fromFieldsV1(fieldsV1);
  assert.deepEqual(set.toFieldsV1(), fieldsV1);
  assert.ok(set.has(["f:data"]));
  assert.ok(set.has(["f:spec", "f:ports", 'k:{"name":"http"}']));
  assert.ok(!set.has(["f:spec"]));
  assert.deepEqual(
    set.paths().map(pathString),
    [
      ".data",
      ".data.a",
      ".data.b",
      '.spec.ports[name="http"]',
      '.spec.ports[name="http"].port',
      '.spec.tags[="x"]',
    ],
  );
  assert.throws(() => FieldSet.fromFieldsV1({ "x:y": {} }), /unknown path element/);
  const other = FieldSet.fromFieldsV1({ "f:data": { "f:a": {} } });
  assert.deepEqual(set.intersection(other).toFieldsV1(), { "f:data": { "f:a": {} } });
  assert.deepEqual(set.difference(other).toFieldsV1()["f:data"], { ".": {}, "f:b": {} });
  assert.deepEqual(
    set.recursiveDifference(FieldSet.fromFieldsV1({ "f:spec": {} })).toFieldsV1(),
    { "f:data": { ".": {}, "f:a": {}, "f:b": {} } },
  );
});

Deno.test("typed values: what an applier owns, what changed, how configurations merge", () => {
  const object = {
    spec: {
      ports: [{ name: "http", port: 80 }],
      tags: ["x"],
      args: ["a", "b"],
      extra: { deep: { k: 1 }, empty: {} },
    },
  };
  assert.deepEqual(fieldSetOf(object, PORTS).toFieldsV1(), {
    "f:spec": {
      "f:args": {},
      "f:extra": { "f:deep": { ".": {}, "f:k": {} }, "f:empty": {} },
      "f:ports": { 'k:{"name":"http"}': { ".": {}, "f:name": {}, "f:port": {} } },
      "f:tags": { 'v:"x"': {} },
    },
  });
  const changed = compare(
    cm({ a: "1", b: "2" }),
    cm({ a: "9", c: "3" }, { app: "x" }),
    CONFIGMAP,
  );
  assert.deepEqual(changed.modified.toFieldsV1(), { "f:data": { "f:a": {} } });
  assert.deepEqual(changed.added.toFieldsV1(), {
    "f:data": { "f:c": {} },
    "f:metadata": { "f:labels": { ".": {}, "f:app": {} } },
  });
  assert.deepEqual(changed.removed.toFieldsV1(), { "f:data": { "f:b": {} } });
  // Keyed lists merge item by item in the configuration's order, live-only items stay in place.
  const live = {
    spec: { ports: [{ name: "a", port: 1 }, { name: "b", port: 2 }, { name: "c", port: 3 }] },
  };
  const config = {
    spec: { ports: [{ name: "c", port: 30 }, { name: "a" }, { name: "d", port: 4 }] },
  };
  assert.deepEqual(merge(live, config, PORTS), {
    spec: {
      ports: [
        { name: "b", port: 2 },
        { name: "c", port: 30 },
        { name: "a", port: 1 },
        { name: "d", port: 4 },
      ],
    },
  });
  assert.deepEqual(
    merge({ spec: { args: ["a"], tags: ["x"] } }, { spec: { args: ["b"], tags: ["y"] } }, PORTS),
    { spec: { args: ["b"], tags: ["x", "y"] } },
    "atomic lists are replaced, sets merged",
  );
});

Deno.test("Update tracking: created fields, changed fields move, removed fields go", () => {
  const created = trackUpdate(
    undefined,
    cm({ a: "1" }, { app: "x" }),
    new Map(),
    tracking("creator"),
  );
  assert.deepEqual(fieldsOf(created), {
    "creator/Update": {
      "f:data": { ".": {}, "f:a": {} },
      "f:metadata": { "f:labels": { ".": {}, "f:app": {} } },
    },
  });
  const edited = trackUpdate(
    cm({ a: "1" }, { app: "x" }),
    cm({ a: "2", b: "1" }),
    created,
    tracking("editor", CONFIGMAP, "2024-01-02T00:00:00Z"),
  );
  assert.deepEqual(fieldsOf(edited), {
    "creator/Update": { "f:data": {} },
    "editor/Update": { "f:data": { "f:a": {}, "f:b": {} } },
  });
  const same = trackUpdate(
    cm({ a: "2", b: "1" }),
    cm({ a: "2", b: "1" }),
    edited,
    tracking("idle"),
  );
  assert.deepEqual(encodeManagedFields(same), encodeManagedFields(edited), "a no-op files nothing");
});

Deno.test("Apply: owns what it applies, conflicts as kube words them, force takes over", () => {
  const first = trackApply(undefined, cm({ a: "1", b: "2" }, { app: "web" }), new Map(), {
    ...tracking("kubectl"),
    force: false,
  });
  assert.deepEqual(fieldsOf(first.managers), {
    "kubectl/Apply": {
      "f:data": { "f:a": {}, "f:b": {} },
      "f:metadata": { "f:labels": { "f:app": {} } },
    },
  });
  const live = cm({ a: "x", b: "y" }, { app: "web" });
  const edited = trackUpdate(first.object, live, first.managers, tracking("editor"));
  const apply = (force: boolean) =>
    trackApply(live, cm({ a: "1", b: "2" }), edited, { ...tracking("kubectl"), force });
  assert.throws(() => apply(false), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.code, 409);
    assert.equal(error.reason, "Conflict");
    assert.equal(
      error.message,
      'Apply failed with 2 conflicts: conflicts with "editor" using v1:\n- .data.a\n- .data.b',
    );
    assert.deepEqual(error.details?.causes?.[0], {
      reason: "FieldManagerConflict",
      message: 'conflict with "editor" using v1',
      field: ".data.a",
    });
    return true;
  });
  const forced = apply(true);
  assert.deepEqual(forced.object.data, { a: "1", b: "2" });
  assert.deepEqual(
    forced.object.metadata?.labels,
    undefined,
    "the label it stopped applying is pruned",
  );
  assert.deepEqual(fieldsOf(forced.managers), {
    "kubectl/Apply": { "f:data": { "f:a": {}, "f:b": {} } },
  });
});

Deno.test("Apply: shared fields are not pruned; a repeated apply keeps the live object", () => {
  const type = PORTS;
  const t = (manager: string) => ({ ...tracking(manager, type), force: false });
  const base = { apiVersion: "v1", kind: "X", metadata: { name: "x" } };
  const applied = trackApply(
    undefined,
    {
      ...base,
      spec: { ports: [{ name: "a", port: 1 }, { name: "b", port: 2 }], tags: ["p", "q"] },
    },
    new Map(),
    t("one"),
  );
  const shared = trackApply(
    applied.object,
    { ...base, spec: { tags: ["q"] } },
    applied.managers,
    t("two"),
  );
  assert.deepEqual(shared.object.spec, applied.object.spec, "same values: the content stays");
  assert.deepEqual(fieldsOf(shared.managers)["two/Apply"], {
    "f:spec": { "f:tags": { 'v:"q"': {} } },
  });
  const repeated = trackApply(shared.object, { ...base, spec: { tags: ["q"] } }, shared.managers, {
    ...t("two"),
    now: "2030-01-01T00:00:00Z",
  });
  assert.equal(repeated.object, shared.object, "a repeated apply changes nothing, not even times");
  assert.equal(repeated.managers, shared.managers);
  const next = trackApply(
    shared.object,
    { ...base, spec: { ports: [{ name: "a", port: 1 }] } },
    shared.managers,
    t("one"),
  );
  assert.deepEqual(next.object.spec, { ports: [{ name: "a", port: 1 }], tags: ["q"] });
});

Deno.test("managedFields: decoding refuses what kube refuses; Update entries are capped at ten", () => {
  assert.throws(
    () => decodeManagedFields([{ manager: "m", operation: "Sideways", apiVersion: "v1" }]),
    ManagedFieldsError,
  );
  assert.throws(
    () => decodeManagedFields([{ manager: "m", operation: "Update", apiVersion: "v1" }]),
    /missing fieldsType/,
  );
  let managers: Managers = new Map();
  for (let i = 0; i < 12; i++) {
    const before = cm(Object.fromEntries(Array.from({ length: i }, (_, k) => [`k${k}`, "v"])));
    const after = cm({ ...before.data as Record<string, string>, [`k${i}`]: "v" });
    managers = trackUpdate(
      before,
      after,
      managers,
      tracking(
        `m${String(i).padStart(2, "0")}`,
        CONFIGMAP,
        `2024-01-01T00:00:${String(i).padStart(2, "0")}Z`,
      ),
    );
  }
  const names = encodeManagedFields(managers).map((e) => e.manager);
  assert.equal(names.length, 10);
  assert.equal(names[0], "ancient-changes");
  assert.deepEqual(
    encodeManagedFields(managers)[0].fieldsV1,
    { "f:data": { "f:k0": {}, "f:k1": {}, "f:k2": {} } },
  );
});

Deno.test("Apply on an object without managedFields files its fields under before-first-apply", () => {
  const live = cm({ a: "1" });
  const result = trackApply(live, cm({ b: "2" }), new Map(), {
    ...tracking("kubectl"),
    force: false,
  });
  assert.deepEqual(fieldsOf(result.managers), {
    "kubectl/Apply": { "f:data": { "f:b": {} } },
    "before-first-apply/Update": { "f:data": { ".": {}, "f:a": {} } },
  });
  assert.deepEqual(result.object.data, { a: "1", b: "2" });
});
