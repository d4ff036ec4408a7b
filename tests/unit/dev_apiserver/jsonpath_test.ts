// The dev API server's JSONPath, which renders CRD printer columns like kube-apiserver.
import assert from "node:assert/strict";
import { evaluateJsonPath, JsonPathError } from "../../../dev_apiserver/tables/jsonpath.ts";

const tenant = {
  metadata: { name: "t1", creationTimestamp: "2024-01-01T00:00:00Z", labels: { "a.b/c": "x" } },
  spec: { plan: "pro", replicas: 3, tags: ["a", "b", "c"] },
  status: {
    conditions: [
      { type: "Ready", status: "True", observedGeneration: 2 },
      { type: "TenantReady", status: "False", observedGeneration: 1 },
    ],
  },
};

Deno.test("evaluateJsonPath finds what kubectl's JSONPath finds", () => {
  const cases: [string, unknown[]][] = [
    [".spec.plan", ["pro"]],
    ["{.spec.plan}", ["pro"]],
    ["$.spec.replicas", [3]],
    ["spec.plan", ["pro"]],
    [".spec.missing", []],
    [".spec.plan.deeper", []],
    [".metadata.creationTimestamp", ["2024-01-01T00:00:00Z"]],
    [".spec.tags[0]", ["a"]],
    [".spec.tags[-1]", ["c"]],
    [".spec.tags[5]", []],
    [".spec.tags[*]", ["a", "b", "c"]],
    [".spec.tags[0:2]", ["a", "b"]],
    [".spec.tags[1:]", ["b", "c"]],
    [".spec.*", ["pro", 3, ["a", "b", "c"]]],
    [".metadata.labels['a.b/c']", ["x"]],
    ['.status.conditions[?(@.type=="TenantReady")].status', ["False"]],
    [".status.conditions[?(@.type == 'Ready')].status", ["True"]],
    [".status.conditions[?(@.type!='Ready')].type", ["TenantReady"]],
    [".status.conditions[?(@.observedGeneration > 1)].type", ["Ready"]],
    [".status.conditions[?(@.observedGeneration)].type", ["Ready", "TenantReady"]],
    [".status.conditions[*].type", ["Ready", "TenantReady"]],
    [".status..type", ["Ready", "TenantReady"]],
    ["", [tenant]],
  ];
  for (const [path, expected] of cases) {
    assert.deepEqual(evaluateJsonPath(path, tenant), expected, path);
  }
  assert.deepEqual(evaluateJsonPath(".a", null), []);
  assert.deepEqual(evaluateJsonPath("[0]", "text"), []);
});

Deno.test("evaluateJsonPath rejects syntax it does not support", () => {
  for (
    const path of [".spec[", ".spec[?(@.a ~ 1)]", ".spec[foo]", ".spec.(x)", ".spec[?(@.a==b)]"]
  ) {
    assert.throws(() => evaluateJsonPath(path, tenant), JsonPathError, path);
  }
});
