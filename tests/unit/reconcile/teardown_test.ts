// Teardown decisions of Tenants being deleted: Delete waits for the namespace to be gone, Retain
// disowns it, a namespace that is not the tenant's is released untouched; finalizer last.
import { NAMESPACE_ONLY } from "./support.ts";
import assert from "node:assert/strict";
import { decide, type Decision, tenantNamespaceName } from "../../../lib/reconcile/mod.ts";
import { ORPHANED_LABEL, TENANT_FINALIZER, TENANT_UID_ANNOTATION } from "../../../lib/api/mod.ts";

type Json = Record<string, unknown>;

const NOW = new Date("2025-02-01T10:00:00Z");
const OURS = { [TENANT_UID_ANNOTATION]: "tenant-uid-1" };
const MANAGED = {
  "istio-injection": "enabled",
  "kleff.io/tenant-username": "exampleuser",
  "kleff.io/tenant-plan": "basic",
  "kleff.io/tenant": "example-tenant",
  "app.kubernetes.io/managed-by": "kleff-tenant-operator",
};
const READY_CONDITIONS = [
  {
    type: "NamespaceReady",
    status: "True",
    reason: "NamespaceActive",
    message: "namespace user-12345 is active, owned by this tenant and labelled",
    lastTransitionTime: "2025-01-01T00:00:00Z",
    observedGeneration: 1,
  },
  {
    type: "TenantReady",
    status: "True",
    reason: "Ready",
    message: "all conditions are True (NamespaceReady)",
    lastTransitionTime: "2025-01-01T00:00:00Z",
    observedGeneration: 1,
  },
];

function deletingTenant(spec: Json = {}, extra: Json = {}): Json {
  return {
    apiVersion: "kleff.kleff.io/v1",
    kind: "Tenant",
    metadata: {
      name: "example-tenant",
      uid: "tenant-uid-1",
      generation: 1,
      resourceVersion: "20",
      creationTimestamp: "2025-01-01T00:00:00Z",
      finalizers: [TENANT_FINALIZER, "other.io/hold"],
      deletionTimestamp: "2025-02-01T09:59:00Z",
    },
    spec: { plan: "basic", userId: "user-12345", username: "exampleuser", ...spec },
    status: { observedGeneration: 1, namespace: "user-12345", conditions: READY_CONDITIONS },
    ...extra,
  };
}

function namespace(labels: Json, annotations: Json, extra: Json = {}, status: Json = {}): Json {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: "user-12345",
      uid: "ns-uid",
      resourceVersion: "77",
      creationTimestamp: "2025-01-01T00:00:01Z",
      labels,
      annotations,
      ...extra,
    },
    status: { phase: "Active", ...status },
  };
}

function kinds(decision: Decision): string[] {
  return decision.actions.map((action) => action.kind);
}

function condition(decision: Decision, type: string) {
  return decision.status.conditions?.find((item) => item.type === type);
}

Deno.test("Delete: the owned namespace is deleted with uid and resourceVersion preconditions", () => {
  const decision = decide(deletingTenant(), { namespace: namespace(MANAGED, OURS) }, {
    now: NOW,
    context: NAMESPACE_ONLY,
  });
  assert.deepEqual(decision.actions, [{
    kind: "delete",
    resource: decision.actions[0].resource,
    name: "user-12345",
    preconditions: { uid: "ns-uid", resourceVersion: "77" },
  }]);
  assert.equal(decision.actions[0].resource.kind, "Namespace");
  assert.deepEqual(decision.events, [{
    type: "Normal",
    reason: "DeletingNamespace",
    message: "deleting namespace user-12345 (deletionPolicy Delete)",
  }]);
  assert.equal(condition(decision, "TenantReady")?.status, "False");
  assert.equal(condition(decision, "TenantReady")?.reason, "Terminating");
  assert.equal(condition(decision, "TenantReady")?.lastTransitionTime, "2025-02-01T10:00:00Z");
  assert.equal(condition(decision, "NamespaceReady")?.reason, "NamespaceTerminating");
  assert.equal(decision.writeStatus, true);
  assert.deepEqual(decision.requeue, { kind: "after", seconds: 10 });
});

Deno.test("Delete: waits, reporting what keeps the namespace, and records no repeated event", () => {
  const terminating = namespace(MANAGED, OURS, { deletionTimestamp: "2025-02-01T10:00:00Z" }, {
    phase: "Terminating",
    conditions: [
      {
        type: "NamespaceDeletionDiscoveryFailure",
        status: "False",
        reason: "ResourcesDiscovered",
        message: "All resources successfully discovered",
      },
      {
        type: "NamespaceContentRemaining",
        status: "True",
        reason: "SomeResourcesRemain",
        message: "Some resources are remaining: configmaps. has 1 resource instances",
      },
      {
        type: "NamespaceFinalizersRemaining",
        status: "True",
        reason: "SomeFinalizersRemain",
        message:
          "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances",
      },
    ],
  });
  const first = decide(deletingTenant(), { namespace: namespace(MANAGED, OURS) }, {
    now: NOW,
    context: NAMESPACE_ONLY,
  });
  const tenant = { ...deletingTenant(), status: first.status };
  const waiting = decide(tenant, { namespace: terminating }, {
    now: new Date("2025-02-01T10:00:05Z"),
    context: NAMESPACE_ONLY,
  });
  assert.deepEqual(waiting.actions, []);
  assert.deepEqual(waiting.events, []);
  assert.equal(
    condition(waiting, "TenantReady")?.message,
    "waiting: namespace user-12345 is being deleted (Some resources are remaining: configmaps. " +
      "has 1 resource instances; Some content in the namespace has finalizers remaining: " +
      "example.com/hold in 1 resource instances)",
  );
  assert.equal(condition(waiting, "TenantReady")?.lastTransitionTime, "2025-02-01T10:00:00Z");
  assert.equal(waiting.writeStatus, true);
  assert.deepEqual(waiting.requeue, { kind: "after", seconds: 10 });
  // Nothing changed: no write at all.
  const again = decide({ ...tenant, status: waiting.status }, { namespace: terminating }, {
    now: new Date("2025-02-01T10:01:00Z"),
    context: NAMESPACE_ONLY,
  });
  assert.deepEqual(again.actions, []);
  assert.deepEqual(again.events, []);
  assert.equal(again.writeStatus, false);
  // Gone: the finalizer comes off (other finalizers kept), no status write.
  const gone = decide({ ...tenant, status: waiting.status }, {}, {
    now: new Date("2025-02-01T10:02:00Z"),
    context: NAMESPACE_ONLY,
  });
  assert.deepEqual(kinds(gone), ["removeFinalizer"]);
  assert.deepEqual(gone.actions[0], {
    kind: "removeFinalizer",
    resource: gone.actions[0].resource,
    name: "example-tenant",
    patch: [
      { op: "test", path: "/metadata/uid", value: "tenant-uid-1" },
      { op: "test", path: "/metadata/finalizers", value: [TENANT_FINALIZER, "other.io/hold"] },
      { op: "add", path: "/metadata/finalizers", value: ["other.io/hold"] },
    ],
  });
  assert.deepEqual(gone.events, [{
    type: "Normal",
    reason: "NamespaceDeleted",
    message: "namespace user-12345 is gone",
  }]);
  assert.equal(gone.writeStatus, false);
  assert.deepEqual(gone.requeue, { kind: "none" });
});

Deno.test("Delete: a namespace already gone releases the tenant at once, without an event", () => {
  const decision = decide(deletingTenant(), {}, { now: NOW, context: NAMESPACE_ONLY });
  assert.deepEqual(kinds(decision), ["removeFinalizer"]);
  assert.deepEqual(decision.events, []);
  assert.equal(decision.writeStatus, false);
});

Deno.test("Retain: ownership labels stripped, guard rails and other keys kept, orphaned set", () => {
  const decision = decide(
    deletingTenant({ deletionPolicy: "Retain" }),
    { namespace: namespace({ ...MANAGED, "team": "web" }, { ...OURS, "note": "keep" }) },
    { now: NOW, context: NAMESPACE_ONLY },
  );
  assert.deepEqual(kinds(decision), ["patch", "removeFinalizer"]);
  assert.deepEqual(decision.actions[0], {
    kind: "patch",
    resource: decision.actions[0].resource,
    name: "user-12345",
    patch: {
      metadata: {
        resourceVersion: "77",
        labels: {
          "kleff.io/tenant-username": null,
          "kleff.io/tenant-plan": null,
          "kleff.io/tenant": null,
          "app.kubernetes.io/managed-by": null,
          [ORPHANED_LABEL]: "true",
        },
        annotations: { [TENANT_UID_ANNOTATION]: null },
      },
    },
  });
  assert.deepEqual(decision.events.map((event) => [event.type, event.reason]), [
    ["Normal", "NamespaceRetained"],
  ]);
  assert.equal(decision.writeStatus, false);
});

Deno.test("Retain: an invalid deletionPolicy keeps the data and warns", () => {
  const decision = decide(
    deletingTenant({ deletionPolicy: "Nuke" }),
    { namespace: namespace(MANAGED, OURS) },
    { now: NOW, context: NAMESPACE_ONLY },
  );
  assert.deepEqual(kinds(decision), ["patch", "removeFinalizer"]);
  assert.equal(decision.events[0].type, "Warning");
  assert.equal(decision.events[0].reason, "InvalidSpec");
  assert.match(decision.events[0].message, /spec.deletionPolicy.*"Nuke".*retaining namespace/);
});

Deno.test("a missing deletionPolicy means Delete (the CRD default)", () => {
  const tenant = deletingTenant();
  delete (tenant.spec as Json).deletionPolicy;
  const decision = decide(tenant, { namespace: namespace(MANAGED, OURS) }, {
    now: NOW,
    context: NAMESPACE_ONLY,
  });
  assert.deepEqual(kinds(decision), ["delete"]);
});

for (
  const [name, annotations] of [
    ["a foreign", {}],
    ["another tenant's", { [TENANT_UID_ANNOTATION]: "someone-else" }],
  ] as const
) {
  for (const policy of ["Delete", "Retain"]) {
    Deno.test(`${name} namespace is released untouched (${policy})`, () => {
      const decision = decide(
        deletingTenant({ deletionPolicy: policy }),
        { namespace: namespace({ "team": "web" }, annotations) },
        { now: NOW, context: NAMESPACE_ONLY },
      );
      assert.deepEqual(kinds(decision), ["removeFinalizer"]);
      assert.deepEqual(decision.events.map((event) => event.reason), ["NamespaceReleased"]);
      assert.match(decision.events[0].message, /never adopted or deleted/);
    });
  }
}

Deno.test("a deleting tenant without the finalizer is left alone", () => {
  const tenant = deletingTenant();
  (tenant.metadata as Json).finalizers = ["other.io/hold"];
  const decision = decide(tenant, { namespace: namespace(MANAGED, OURS) }, {
    now: NOW,
    context: NAMESPACE_ONLY,
  });
  assert.deepEqual(decision.actions, []);
  assert.deepEqual(decision.events, []);
  assert.equal(decision.writeStatus, false);
});

Deno.test("teardown after a userId change deletes the old namespace, not the new name", () => {
  const tenant = deletingTenant({ userId: "user-99999" });
  assert.equal(tenantNamespaceName(tenant), "user-12345");
  const decision = decide(tenant, { namespace: namespace(MANAGED, OURS) }, {
    now: NOW,
    context: NAMESPACE_ONLY,
  });
  assert.deepEqual(kinds(decision), ["delete"]);
  assert.equal((decision.actions[0] as { name: string }).name, "user-12345");
});

Deno.test("teardown of a tenant whose spec never named a namespace just removes the finalizer", () => {
  const tenant = deletingTenant({ userId: 12 }, { status: {} });
  assert.equal(tenantNamespaceName(tenant), undefined);
  const decision = decide(tenant, {}, { now: NOW, context: NAMESPACE_ONLY });
  assert.deepEqual(kinds(decision), ["removeFinalizer"]);
});

Deno.test("teardown with an invalid spec still deletes the namespace it created", () => {
  const tenant = deletingTenant({ plan: "???" }, {
    status: { namespace: "user-12345", namespaceUID: "ns-uid" },
  });
  assert.equal(tenantNamespaceName(tenant), "user-12345");
  const decision = decide(tenant, { namespace: namespace(MANAGED, OURS) }, {
    now: NOW,
    context: NAMESPACE_ONLY,
  });
  assert.deepEqual(kinds(decision), ["delete"]);
});

Deno.test("teardown never deletes a namespace the tenant did not create, even annotated as its", () => {
  const forged = deletingTenant({}, { status: {} });
  const released = decide(forged, { namespace: namespace(MANAGED, OURS) }, {
    now: NOW,
    context: NAMESPACE_ONLY,
  });
  assert.deepEqual(kinds(released), ["removeFinalizer"]);
  assert.equal(released.events[0]?.reason, "NamespaceReleased");
  const replaced = deletingTenant({}, {
    status: { namespace: "user-12345", namespaceUID: "uid-of-the-one-it-created" },
  });
  assert.deepEqual(
    kinds(decide(replaced, { namespace: namespace(MANAGED, OURS) }, {
      now: NOW,
      context: NAMESPACE_ONLY,
    })),
    ["removeFinalizer"],
  );
});

Deno.test("teardown never deletes a reserved namespace, even one the tenant recorded", () => {
  const tenant = deletingTenant({ userId: "kube-tenant" }, {
    status: { namespace: "kube-tenant", namespaceUID: "ns-uid" },
  });
  const decision = decide(tenant, {
    namespace: namespace(MANAGED, OURS, { name: "kube-tenant" }),
  }, { now: NOW, context: NAMESPACE_ONLY });
  assert.deepEqual(kinds(decision), ["removeFinalizer"]);
  assert.equal(decision.events[0]?.type, "Warning");
  assert.match(decision.events[0]?.message ?? "", /kube-tenant is reserved for the platform/);
});
