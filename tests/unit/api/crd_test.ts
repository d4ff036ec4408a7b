// The CRD and samples: the shape the README documents, a structural schema, names that match
// lib/api, and validation that agrees with the operator's own spec checks.
import assert from "node:assert/strict";
import { parse } from "yaml";
import {
  ALWAYS_RESERVED_NAMESPACES,
  DEFAULT_RESERVED_NAMESPACES,
  reservedBy,
  TENANT_API_VERSION,
  TENANT_CRD_NAME,
  TENANT_GROUP,
  TENANT_KIND,
  TENANT_PLURAL,
  TENANT_RESOURCE,
  TENANT_SINGULAR,
  TENANT_VERSION,
} from "../../../lib/api/mod.ts";
import { readTenant } from "../../../lib/reconcile/mod.ts";
import { validate as serverValidate } from "../../../dev_apiserver/crd/schema.ts";

type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
  pattern?: string;
  maxLength?: number;
  minLength?: number;
  minimum?: number;
  enum?: unknown[];
  default?: unknown;
  [key: string]: unknown;
};

const root = new URL("../../../deploy/", import.meta.url);
const crd = parse(await Deno.readTextFile(new URL("crd.yaml", root)));
const version = crd.spec.versions[0];
const schema: Schema = version.schema.openAPIV3Schema;

/** Validates a value against the subset of OpenAPI v3 the CRD uses, listing errors by path. */
function validate(value: unknown, node: Schema, path = ""): string[] {
  if (value === undefined) return [];
  const errors: string[] = [];
  const type = Array.isArray(value) ? "array" : value === null ? "null" : typeof value;
  const expected = node.type === "integer" ? "number" : node.type;
  if (expected !== undefined && type !== expected) return [`${path}: expected ${node.type}`];
  if (node.type === "integer" && !Number.isInteger(value)) errors.push(`${path}: not an integer`);
  if (node.enum && !node.enum.includes(value)) errors.push(`${path}: not in enum`);
  if (typeof value === "string") {
    if (node.pattern && !new RegExp(node.pattern).test(value)) errors.push(`${path}: pattern`);
    if (node.maxLength !== undefined && value.length > node.maxLength) errors.push(`${path}: long`);
    if (node.minLength !== undefined && value.length < node.minLength) {
      errors.push(`${path}: short`);
    }
  }
  if (typeof value === "number" && node.minimum !== undefined && value < node.minimum) {
    errors.push(`${path}: minimum`);
  }
  if (Array.isArray(value) && node.items) {
    value.forEach((item, index) =>
      errors.push(...validate(item, node.items!, `${path}[${index}]`))
    );
  }
  if (type === "object" && node.properties) {
    const record = value as Record<string, unknown>;
    for (const field of node.required ?? []) {
      if (record[field] === undefined) errors.push(`${path}.${field}: required`);
    }
    for (const [field, child] of Object.entries(node.properties)) {
      errors.push(...validate(record[field], child, `${path}.${field}`));
    }
  }
  return errors;
}

/** Every schema node that is not a bare `metadata: {type: object}` must have a type (structural). */
function untyped(node: Schema, path = ""): string[] {
  const own = node.type === undefined ? [path] : [];
  const children = Object.entries(node.properties ?? {}).flatMap(([key, child]) =>
    untyped(child, `${path}.${key}`)
  );
  return [...own, ...children, ...(node.items ? untyped(node.items, `${path}[]`) : [])];
}

Deno.test("CRD identity matches lib/api", () => {
  assert.equal(crd.apiVersion, "apiextensions.k8s.io/v1");
  assert.equal(crd.kind, "CustomResourceDefinition");
  assert.equal(crd.metadata.name, TENANT_CRD_NAME);
  assert.equal(crd.metadata.name, "tenants.kleff.kleff.io");
  assert.equal(crd.spec.group, TENANT_GROUP);
  assert.equal(crd.spec.scope, "Cluster");
  assert.deepEqual(crd.spec.names, {
    plural: TENANT_PLURAL,
    singular: TENANT_SINGULAR,
    kind: TENANT_KIND,
    listKind: "TenantList",
    shortNames: ["tn"],
  });
  assert.equal(crd.spec.versions.length, 1);
  assert.equal(version.name, TENANT_VERSION);
  assert.equal(version.served, true);
  assert.equal(version.storage, true);
  assert.deepEqual(version.subresources, { status: {} });
  assert.deepEqual(TENANT_RESOURCE, {
    group: "kleff.kleff.io",
    version: "v1",
    plural: "tenants",
    kind: "Tenant",
    namespaced: false,
  });
  assert.equal(TENANT_API_VERSION, "kleff.kleff.io/v1");
});

Deno.test("printer columns: Username, Plan, Namespace, Ready, Age; -o wide adds Reason, Quota", () => {
  assert.deepEqual(
    version.additionalPrinterColumns.map((column: Schema) => [
      column.name,
      column.type,
      column.jsonPath,
      column.priority ?? 0,
    ]),
    [
      ["Username", "string", ".spec.username", 0],
      ["Plan", "string", ".spec.plan", 0],
      ["Namespace", "string", ".status.namespace", 0],
      ["Ready", "string", '.status.conditions[?(@.type=="TenantReady")].status', 0],
      ["Age", "date", ".metadata.creationTimestamp", 0],
      ["Reason", "string", '.status.conditions[?(@.type=="TenantReady")].reason', 1],
      ["Quota", "string", ".status.quota", 1],
    ],
  );
});

Deno.test("the schema is structural and carries the spec and condition constraints", () => {
  assert.deepEqual(untyped(schema), []);
  const spec = schema.properties!.spec;
  assert.deepEqual(schema.required, ["spec"]);
  assert.deepEqual(spec.required, ["userId", "username", "plan"]);
  const rules = spec.properties!.userId["x-kubernetes-validations"] as { rule: string }[];
  assert.deepEqual(rules[0], { rule: "self == oldSelf", message: "userId is immutable" });
  assert.equal(rules.length, 2, "immutable, and not a reserved namespace");
  assert.equal(spec.properties!.userId.pattern, "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
  for (const field of ["userId", "username", "plan"]) {
    assert.equal(spec.properties![field].maxLength, 63, field);
  }
  const username = "^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$";
  assert.equal(spec.properties!.username.pattern, username);
  assert.equal(spec.properties!.plan.pattern, username);
  assert.deepEqual(spec.properties!.deletionPolicy.enum, ["Delete", "Retain"]);
  assert.equal(spec.properties!.deletionPolicy.default, "Delete");
  const status = schema.properties!.status.properties!;
  assert.equal(status.observedGeneration.type, "integer");
  assert.equal(status.namespace.type, "string");
  assert.equal(status.namespaceUID.type, "string");
  const conditions = status.conditions;
  assert.equal(conditions["x-kubernetes-list-type"], "map");
  assert.deepEqual(conditions["x-kubernetes-list-map-keys"], ["type"]);
  const item = conditions.items!;
  assert.deepEqual(item.required, ["lastTransitionTime", "message", "reason", "status", "type"]);
  assert.deepEqual(item.properties!.status.enum, ["True", "False", "Unknown"]);
  assert.equal(item.properties!.lastTransitionTime.format, "date-time");
  assert.equal(item.properties!.reason.minLength, 1);
  assert.equal(item.properties!.type.maxLength, 316);
});

Deno.test("the README's Tenant example is deploy/samples/example-tenant.yaml, verbatim and valid", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", root));
  const section = readme.split(/^## /m).find((part) => part.startsWith("The Tenant\n"));
  assert.ok(section, 'the README has a section "The Tenant"');
  const blocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]);
  assert.equal(blocks.length, 1, 'one YAML example in "The Tenant"');
  const sample = await Deno.readTextFile(new URL("samples/example-tenant.yaml", root));
  assert.equal(blocks[0], sample);
  const tenant = parse(sample);
  assert.equal(tenant.apiVersion, TENANT_API_VERSION);
  assert.equal(tenant.kind, TENANT_KIND);
  assert.deepEqual(validate(tenant, schema), []);
  const reading = readTenant({ ...tenant, metadata: { ...tenant.metadata, uid: "u" } });
  assert.ok(reading.ok);
  assert.deepEqual(reading.tenant.problems, []);
});

Deno.test("every sample is valid against the schema and the operator's checks", async () => {
  const names = [];
  for await (const entry of Deno.readDir(new URL("samples/", root))) names.push(entry.name);
  assert.deepEqual(names.sort(), [
    "example-tenant.yaml",
    "pro-tenant.yaml",
    "retained-tenant.yaml",
  ]);
  const plans = new Set<string>();
  for (const name of names) {
    const sample = parse(await Deno.readTextFile(new URL(`samples/${name}`, root)));
    assert.equal(sample.apiVersion, TENANT_API_VERSION, name);
    assert.equal(sample.kind, TENANT_KIND, name);
    assert.deepEqual(validate(sample, schema), [], name);
    const reading = readTenant({ ...sample, metadata: { ...sample.metadata, uid: "u" } });
    assert.ok(reading.ok && reading.tenant.problems.length === 0, name);
    plans.add(sample.spec.plan);
  }
  assert.ok(plans.has("pro"));
  const retained = parse(await Deno.readTextFile(new URL("samples/retained-tenant.yaml", root)));
  assert.equal(retained.spec.deletionPolicy, "Retain");
});

Deno.test("the CRD schema and the operator agree on which specs are valid", () => {
  const values = [
    "user-1",
    "a",
    "-a",
    "a-",
    "A",
    "a_b",
    "a.b",
    "ab.",
    "",
    "x".repeat(63),
    "x".repeat(64),
    "ü",
    "a b",
  ];
  const base = { userId: "user-1", username: "name", plan: "basic" };
  for (const field of ["userId", "username", "plan"]) {
    for (const value of values) {
      const spec = { ...base, [field]: value };
      const object = { apiVersion: TENANT_API_VERSION, kind: TENANT_KIND, metadata: {}, spec };
      const schemaValid = validate(object, schema).length === 0;
      const reading = readTenant({ ...object, metadata: { name: "t", uid: "u" } });
      assert.ok(reading.ok);
      assert.equal(reading.tenant.problems.length === 0, schemaValid, `${field}=${value}`);
    }
  }
  for (const policy of ["Delete", "Retain", "delete", "Orphan"]) {
    const spec = { ...base, deletionPolicy: policy };
    const schemaValid = validate({ spec }, schema).length === 0;
    const reading = readTenant({ metadata: { name: "t", uid: "u" }, spec });
    assert.ok(reading.ok);
    assert.equal(reading.tenant.problems.length === 0, schemaValid, policy);
  }
});

Deno.test("the CRD rejects exactly the built-in reserved namespaces as userId, with a clear message", () => {
  const builtin = [...ALWAYS_RESERVED_NAMESPACES, ...DEFAULT_RESERVED_NAMESPACES];
  const names = [
    ...builtin.map((entry) => entry.replace("*", "system")),
    "kube-public",
    "kube-node-lease",
    "kube-anything",
    "kube",
    "kubex-system",
    "default-1",
    "my-istio-system",
    "istio-system-2",
    "cert-manager-x",
    "user-1",
  ];
  for (const name of names) {
    const object = {
      apiVersion: TENANT_API_VERSION,
      kind: TENANT_KIND,
      metadata: {},
      spec: { userId: name, username: "u", plan: "basic" },
    };
    // The dev API server evaluates the CRD's x-kubernetes-validations (CEL) as kube-apiserver does.
    const errors = serverValidate(schema as never, object);
    const reserved = reservedBy(name, builtin) !== undefined;
    assert.equal(errors.length > 0, reserved, `${name}: ${JSON.stringify(errors)}`);
    if (reserved) {
      assert.equal(errors[0].field, "spec.userId");
      assert.match(errors[0].message, /reserved for the platform/);
    }
  }
});
