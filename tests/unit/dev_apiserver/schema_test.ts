// The dev API server's OpenAPI schema handling: pruning, defaulting and validation with kube's
// wording.
import assert from "node:assert/strict";
import {
  type FieldError,
  pruneAndDefault,
  type StructuralSchema,
  validate,
} from "../../../dev_apiserver/crd/schema.ts";

const tenantSchema: StructuralSchema = {
  type: "object",
  properties: {
    apiVersion: { type: "string" },
    kind: { type: "string" },
    metadata: { type: "object" },
    spec: {
      type: "object",
      required: ["userId"],
      properties: {
        userId: {
          type: "string",
          pattern: "^[a-z0-9]+$",
          "x-kubernetes-validations": [{ rule: "self == oldSelf", message: "userId is immutable" }],
        },
        username: { type: "string", maxLength: 5, minLength: 2 },
        plan: { type: "string", enum: ["free", "pro"], default: "free" },
        replicas: { type: "integer", minimum: 1, maximum: 10, default: 1 },
        ratio: { type: "number", exclusiveMinimum: true, minimum: 0 },
        when: { type: "string", format: "date-time" },
        port: { "x-kubernetes-int-or-string": true },
        tags: { type: "array", maxItems: 2, minItems: 1, items: { type: "string" } },
        members: {
          type: "array",
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": ["name"],
          items: {
            type: "object",
            required: ["name"],
            properties: {
              name: { type: "string" },
              role: {
                type: "string",
                "x-kubernetes-validations": [{
                  rule: "self == oldSelf",
                  reason: "FieldValueForbidden",
                  message: "role is fixed",
                }],
              },
            },
          },
        },
        labels: { type: "object", additionalProperties: { type: "string", maxLength: 3 } },
        extra: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        template: {
          type: "object",
          "x-kubernetes-embedded-resource": true,
          properties: { spec: { type: "object" } },
        },
        limits: { type: "object", properties: { cpu: { type: "string", default: "1" } } },
        note: { type: "string", nullable: true },
      },
      "x-kubernetes-validations": [
        {
          rule: "!has(self.username) || self.username != self.userId",
          messageExpression: "'username ' + self.username + ' equals userId'",
        },
      ],
    },
  },
};

Deno.test("pruneAndDefault drops unknown fields and applies defaults", () => {
  const input = {
    apiVersion: "kleff.io/v1",
    kind: "Tenant",
    metadata: { name: "t", labels: { a: "b" }, unknownMeta: 1 },
    unknownTop: true,
    spec: {
      userId: "u1",
      bogus: 1,
      port: "http",
      labels: { a: "x" },
      extra: { anything: { deep: [1] } },
      template: { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { x: 1 }, junk: 1 },
      limits: {},
      members: [{ name: "a", stray: 1 }],
      plan: null,
      note: null,
    },
  };
  const before = structuredClone(input);
  assert.deepEqual(pruneAndDefault(tenantSchema, input), {
    apiVersion: "kleff.io/v1",
    kind: "Tenant",
    metadata: { name: "t", labels: { a: "b" }, unknownMeta: 1 },
    spec: {
      userId: "u1",
      port: "http",
      labels: { a: "x" },
      extra: { anything: { deep: [1] } },
      template: { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: {} },
      limits: { cpu: "1" },
      members: [{ name: "a" }],
      plan: "free",
      replicas: 1,
      note: null,
    },
  });
  assert.deepEqual(input, before);
  assert.deepEqual(pruneAndDefault(tenantSchema, { spec: null }), { spec: null });
  assert.deepEqual(pruneAndDefault(tenantSchema, { kind: "Tenant" }), { kind: "Tenant" });
});

const rulesSkipped: FieldError = {
  reason: "FieldValueInvalid",
  field: "<nil>",
  message:
    "Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
};

function check(value: unknown, oldValue?: unknown): FieldError[] {
  return validate(tenantSchema, value, oldValue === undefined ? {} : { oldValue });
}

Deno.test("validate reports each bad field with kube's wording", () => {
  const cases: [unknown, FieldError[]][] = [
    [{ spec: { userId: "ok" } }, []],
    [{ spec: {} }, [{
      reason: "FieldValueRequired",
      field: "spec.userId",
      message: "Required value",
    }]],
    [{ spec: { userId: "Bad_Name" } }, [{
      reason: "FieldValueInvalid",
      field: "spec.userId",
      message: `Invalid value: "Bad_Name": spec.userId in body should match '^[a-z0-9]+$'`,
    }]],
    [{ spec: { userId: "u", username: "toolong" } }, [{
      reason: "FieldValueTooLong",
      field: "spec.username",
      message: "Too long: may not be more than 5 bytes",
    }]],
    [{ spec: { userId: "u", username: "x" } }, [{
      reason: "FieldValueInvalid",
      field: "spec.username",
      message: `Invalid value: "x": spec.username in body should be at least 2 chars long`,
    }]],
    [{ spec: { userId: "u", replicas: 0 } }, [{
      reason: "FieldValueInvalid",
      field: "spec.replicas",
      message: "Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
    }]],
    [{ spec: { userId: "u", replicas: 11 } }, [{
      reason: "FieldValueInvalid",
      field: "spec.replicas",
      message: "Invalid value: 11: spec.replicas in body should be less than or equal to 10",
    }]],
    [{ spec: { userId: "u", ratio: 0 } }, [{
      reason: "FieldValueInvalid",
      field: "spec.ratio",
      message: "Invalid value: 0: spec.ratio in body should be greater than 0",
    }]],
    [{ spec: { userId: "u", when: "yesterday" } }, [{
      reason: "FieldValueTypeInvalid",
      field: "spec.when",
      message:
        `Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday"`,
    }, rulesSkipped]],
    [{ spec: { userId: "u", when: "2024-01-02T03:04:05Z", port: 8080, note: null } }, []],
    [{ spec: { userId: "u", tags: ["a", "b", "c"] } }, [{
      reason: "FieldValueTooMany",
      field: "spec.tags",
      message: "Too many: 3: must have at most 2 items",
    }]],
    [{ spec: { userId: "u", tags: [] } }, [{
      reason: "FieldValueInvalid",
      field: "spec.tags",
      message: "Invalid value: 0: spec.tags in body should have at least 1 items",
    }]],
    [{ spec: { userId: "u", members: [{ name: "a" }, {}] } }, [{
      reason: "FieldValueRequired",
      field: "spec.members[1].name",
      message: "Required value",
    }]],
    [{ spec: { userId: "u", labels: { k: "long" } } }, [{
      reason: "FieldValueTooLong",
      field: "spec.labels[k]",
      message: "Too long: may not be more than 3 bytes",
    }]],
    [{ spec: { userId: "ab", username: "ab" } }, [{
      reason: "FieldValueInvalid",
      field: "spec",
      message: `Invalid value: "object": username ab equals userId`,
    }]],
  ];
  for (const [value, expected] of cases) {
    assert.deepEqual(check(value), expected, JSON.stringify(value));
  }
});

Deno.test("validate stops at type and enum errors and says rules were not checked", () => {
  assert.deepEqual(check({ spec: { userId: "u", plan: "gold", replicas: "3", port: true } }), [
    {
      reason: "FieldValueNotSupported",
      field: "spec.plan",
      message: `Unsupported value: "gold": supported values: "free", "pro"`,
    },
    {
      reason: "FieldValueTypeInvalid",
      field: "spec.replicas",
      message: `Invalid value: "string": spec.replicas in body must be of type integer: "string"`,
    },
    {
      reason: "FieldValueTypeInvalid",
      field: "spec.port",
      message:
        `Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"`,
    },
    rulesSkipped,
  ]);
  assert.deepEqual(check({ spec: "nope" }), [{
    reason: "FieldValueTypeInvalid",
    field: "spec",
    message: `Invalid value: "string": spec in body must be of type object: "string"`,
  }, rulesSkipped]);
  assert.deepEqual(
    validate({ type: "object", properties: { n: { type: "number", enum: [1, 2] } } }, { n: 3 }),
    [{
      reason: "FieldValueNotSupported",
      field: "n",
      message: `Unsupported value: 3: supported values: "1", "2"`,
    }],
  );
});

Deno.test("validate runs transition rules only where an old value exists", () => {
  const old = { spec: { userId: "u1", members: [{ name: "a", role: "admin" }] } };
  assert.deepEqual(check({ spec: { userId: "u2" } }), []);
  assert.deepEqual(check({ spec: { userId: "u2" } }, old), [{
    reason: "FieldValueInvalid",
    field: "spec.userId",
    message: `Invalid value: "string": userId is immutable`,
  }]);
  assert.deepEqual(
    check({
      spec: { userId: "u1", members: [{ name: "b", role: "x" }, { name: "a", role: "admin" }] },
    }, old),
    [],
  );
  assert.deepEqual(
    check({ spec: { userId: "u1", members: [{ name: "a", role: "viewer" }] } }, old),
    [{
      reason: "FieldValueForbidden",
      field: "spec.members[0].role",
      message: "Forbidden: role is fixed",
    }],
  );
  assert.deepEqual(check({ spec: { userId: "u1" } }, { spec: {} }), []);
});

Deno.test("validate words rule defaults, evaluation errors and skips unsupported rules", () => {
  const schema: StructuralSchema = {
    type: "object",
    properties: {
      spec: {
        type: "object",
        "x-kubernetes-validations": [
          { rule: "self.size > 1" },
          { rule: "self.missing == 1", fieldPath: ".size" },
          { rule: "self.size.quantity() > 1" },
        ],
        properties: { size: { type: "integer" } },
      },
    },
  };
  assert.deepEqual(validate(schema, { spec: { size: 1 } }), [
    {
      reason: "FieldValueInvalid",
      field: "spec",
      message: `Invalid value: "object": failed rule: self.size > 1`,
    },
    {
      reason: "FieldValueInvalid",
      field: "spec.size",
      message: `Invalid value: "object": no such key: missing evaluating rule: self.missing == 1`,
    },
  ]);
});
