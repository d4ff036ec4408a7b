// The dev API server's merge (RFC 7386) and JSON (RFC 6902) patches.
import assert from "node:assert/strict";
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  PatchError,
} from "../../../dev_apiserver/storage/patch.ts";

function assertPatchError(fn: () => unknown, code: number, message: string | RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof PatchError, String(error));
    assert.equal(error.code, code);
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(`${error.message} ${error.detail}`, message);
    return true;
  });
}

Deno.test("applyMergePatch follows RFC 7386 and leaves inputs alone", () => {
  const cases: [unknown, unknown, unknown][] = [
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{ a: { b: 1 } }, { a: { b: { c: null } } }, { a: { b: {} } }],
  ];
  for (const [target, patch, expected] of cases) {
    const before = structuredClone(target);
    assert.deepEqual(applyMergePatch(target, patch), expected, JSON.stringify(patch));
    assert.deepEqual(target, before);
  }
  assertPatchError(() => applyMergePatch({ a: 1 }, ["x"]), 400, "Invalid JSON Patch");
  assertPatchError(() => applyMergePatch({ a: 1 }, "x"), 400, "Invalid JSON Patch");
});

Deno.test("applyMergePatch never touches prototypes", () => {
  const result = applyMergePatch({}, JSON.parse('{"__proto__": {"polluted": true}}')) as Record<
    string,
    unknown
  >;
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(Object.keys(result), ["__proto__"]);
});

Deno.test("applyJsonPatch applies every RFC 6902 operation", () => {
  const doc = { metadata: { labels: { a: "1" } }, spec: { list: ["x", "y"], "a/b": 1, "m~n": 2 } };
  const cases: [unknown[], unknown][] = [
    [[{ op: "add", path: "/metadata/labels/b", value: "2" }], {
      ...doc,
      metadata: { labels: { a: "1", b: "2" } },
    }],
    [[{ op: "add", path: "/spec/list/-", value: "z" }], {
      ...doc,
      spec: { ...doc.spec, list: ["x", "y", "z"] },
    }],
    [[{ op: "add", path: "/spec/list/0", value: "w" }], {
      ...doc,
      spec: { ...doc.spec, list: ["w", "x", "y"] },
    }],
    [[{ op: "add", path: "/spec/list/2", value: "z" }], {
      ...doc,
      spec: { ...doc.spec, list: ["x", "y", "z"] },
    }],
    [[{ op: "remove", path: "/spec/list/0" }], { ...doc, spec: { ...doc.spec, list: ["y"] } }],
    [[{ op: "remove", path: "/spec/list/-1" }], { ...doc, spec: { ...doc.spec, list: ["x"] } }],
    [[{ op: "remove", path: "/spec/a~1b" }], { ...doc, spec: { list: ["x", "y"], "m~n": 2 } }],
    [[{ op: "replace", path: "/spec/m~0n", value: 3 }], {
      ...doc,
      spec: { ...doc.spec, "m~n": 3 },
    }],
    [[{ op: "replace", path: "/spec/list/1", value: "Y" }], {
      ...doc,
      spec: { ...doc.spec, list: ["x", "Y"] },
    }],
    [[{ op: "move", from: "/metadata/labels", path: "/labels" }], {
      ...doc,
      metadata: {},
      labels: { a: "1" },
    }],
    [[{ op: "copy", from: "/spec/list/0", path: "/spec/list/-" }], {
      ...doc,
      spec: { ...doc.spec, list: ["x", "y", "x"] },
    }],
    [[{ op: "test", path: "/spec/list", value: ["x", "y"] }, {
      op: "add",
      path: "/ok",
      value: true,
    }], { ...doc, ok: true }],
    [[{ op: "replace", path: "", value: { fresh: 1 } }], { fresh: 1 }],
    [[], doc],
  ];
  for (const [operations, expected] of cases) {
    const before = structuredClone(doc);
    assert.deepEqual(applyJsonPatch(doc, operations), expected, JSON.stringify(operations));
    assert.deepEqual(doc, before);
  }
});

Deno.test("applyJsonPatch answers 422 for operations that do not apply, 400 for garbage", () => {
  const doc = { spec: { list: ["x"], n: 1 } };
  const rejected = "the server rejected our request due to an error in our request";
  const cases: [unknown, RegExp][] = [
    [[{ op: "test", path: "/spec/n", value: 2 }], /testing value \/spec\/n failed/],
    [[{ op: "test", path: "/spec/missing", value: 2 }], /testing value/],
    [[{ op: "remove", path: "/spec/missing" }], /remove operation does not apply/],
    [[{ op: "replace", path: "/spec/missing", value: 1 }], /replace operation does not apply/],
    [[{ op: "add", path: "/nope/deeper", value: 1 }], /add operation does not apply/],
    [[{ op: "add", path: "/spec/list/5", value: 1 }], /invalid index 5/],
    [[{ op: "remove", path: "/spec/list/1" }], /does not apply/],
    [[{ op: "add", path: "spec", value: 1 }], /invalid JSON pointer/],
    [[{ op: "add", path: "/spec/x" }], /missing value/],
    [[{ op: "jump", path: "/spec" }], /Unexpected kind: jump/],
    [[{ op: "move", from: "/spec", path: "/spec/inner" }], /own child/],
  ];
  for (const [operations, detail] of cases) {
    assertPatchError(() => applyJsonPatch(doc, operations), 422, detail);
    assertPatchError(() => applyJsonPatch(doc, operations), 422, rejected);
  }
  assertPatchError(
    () => applyJsonPatch(doc, { op: "add" }),
    400,
    "json: cannot unmarshal object into Go value of type jsonpatch.Patch",
  );
  assertPatchError(() => applyJsonPatch(doc, [1]), 400, /cannot unmarshal/);
  assert.deepEqual(
    applyJsonPatch(doc, [{ op: "test", path: "/spec/absent", value: null }]),
    doc,
  );
});

Deno.test("applyStrategicMergePatch merges keyed lists and honours directives", () => {
  const pod = {
    metadata: { finalizers: ["a"], labels: { x: "1", y: "2" } },
    spec: {
      containers: [
        {
          name: "app",
          image: "app:1",
          env: [{ name: "A", value: "1" }, { name: "B", value: "2" }],
        },
        { name: "side", image: "side:1" },
      ],
      tolerations: [{ key: "k1" }],
      volumes: [{ name: "v", emptyDir: {} }],
    },
  };
  const cases: [string, unknown, unknown][] = [
    ["map merge and null delete", { metadata: { labels: { x: null, z: "3" } } }, {
      ...pod,
      metadata: { finalizers: ["a"], labels: { y: "2", z: "3" } },
    }],
    [
      "keyed merge",
      { spec: { containers: [{ name: "app", image: "app:2" }] } },
      {
        ...pod,
        spec: {
          ...pod.spec,
          containers: [{ ...pod.spec.containers[0], image: "app:2" }, pod.spec.containers[1]],
        },
      },
    ],
    [
      "keyed append and nested env merge",
      {
        spec: {
          containers: [{ name: "app", env: [{ name: "B", value: "9" }] }, { name: "new" }],
        },
      },
      {
        ...pod,
        spec: {
          ...pod.spec,
          // kube's order: patch items first unless the original list had an item before them
          containers: [
            {
              ...pod.spec.containers[0],
              env: [{ name: "A", value: "1" }, { name: "B", value: "9" }],
            },
            { name: "new" },
            pod.spec.containers[1],
          ],
        },
      },
    ],
    [
      "$patch delete in a keyed list",
      { spec: { containers: [{ name: "side", $patch: "delete" }] } },
      { ...pod, spec: { ...pod.spec, containers: [pod.spec.containers[0]] } },
    ],
    [
      "$patch replace in a keyed list",
      { spec: { containers: [{ name: "only" }, { $patch: "replace" }] } },
      { ...pod, spec: { ...pod.spec, containers: [{ name: "only" }] } },
    ],
    [
      "unkeyed lists are replaced",
      { spec: { tolerations: [{ key: "k2" }] } },
      { ...pod, spec: { ...pod.spec, tolerations: [{ key: "k2" }] } },
    ],
    [
      "finalizers merge as a set",
      { metadata: { finalizers: ["b", "a"] } },
      { ...pod, metadata: { ...pod.metadata, finalizers: ["b", "a"] } },
    ],
    [
      "a new item goes before the items the patch does not name",
      { metadata: { finalizers: ["c"] } },
      { ...pod, metadata: { ...pod.metadata, finalizers: ["c", "a"] } },
    ],
    [
      "$deleteFromPrimitiveList",
      { metadata: { "$deleteFromPrimitiveList/finalizers": ["a"] } },
      { ...pod, metadata: { ...pod.metadata, finalizers: [] } },
    ],
    [
      "$patch replace on a map",
      { metadata: { labels: { $patch: "replace", only: "1" } } },
      { ...pod, metadata: { ...pod.metadata, labels: { only: "1" } } },
    ],
    [
      "$patch delete on a map",
      { metadata: { labels: { $patch: "delete" } } },
      { ...pod, metadata: { finalizers: ["a"] } },
    ],
    [
      "$setElementOrder",
      {
        spec: {
          "$setElementOrder/containers": [{ name: "side" }, { name: "app" }],
          containers: [{ name: "side", image: "side:2" }],
        },
      },
      {
        ...pod,
        spec: {
          ...pod.spec,
          containers: [{ name: "side", image: "side:2" }, pod.spec.containers[0]],
        },
      },
    ],
    [
      "$retainKeys",
      { spec: { volumes: [{ name: "v", $retainKeys: ["name", "secret"], secret: { s: 1 } }] } },
      { ...pod, spec: { ...pod.spec, volumes: [{ name: "v", secret: { s: 1 } }] } },
    ],
  ];
  for (const [name, patch, expected] of cases) {
    const before = structuredClone(pod);
    assert.deepEqual(applyStrategicMergePatch(pod, patch), expected, name);
    assert.deepEqual(pod, before, name);
  }
});

Deno.test("applyStrategicMergePatch replaces lists without a merge key and rejects bad directives", () => {
  const doc = { items: [{ id: 1, v: "a" }, { id: 2, v: "b" }] };
  assert.deepEqual(applyStrategicMergePatch(doc, { items: [{ id: 2, v: "c" }] }), {
    items: [{ id: 2, v: "c" }],
  });
  assertPatchError(
    () => applyStrategicMergePatch(doc, { $patch: "explode" }),
    400,
    /unknown patch type: "explode"/,
  );
  assertPatchError(
    () => applyStrategicMergePatch({}, { spec: { containers: [{ image: "x" }] } }),
    422,
    /does not contain declared merge key: name/,
  );
  assertPatchError(
    () => applyStrategicMergePatch({}, { "$deleteFromPrimitiveList/finalizers": "a" }),
    400,
    "invalid patch format of primitive list",
  );
  assertPatchError(
    () => applyStrategicMergePatch({}, { a: 1, $retainKeys: ["b"] }),
    422,
    "patch content doesn't match retainKeys list",
  );
  assertPatchError(() => applyStrategicMergePatch({}, [1]), 400, "invalid JSON document");
});
