// Decisions for live Tenants, executed against a small simulated API server to prove convergence
// and idempotence: a second decision over the result writes and records nothing.
import { NAMESPACE_ONLY, podSecurityLabels } from "./support.ts";
import assert from "node:assert/strict";
import {
  type Action,
  claimOf,
  decide,
  decideFailure,
  type Decision,
  isTenantPatch,
  statusEqual,
  tenantNamespaceName,
  tenantPatchApplies,
} from "../../../lib/reconcile/mod.ts";
import {
  NAMESPACE_CLAIM_ANNOTATION,
  TENANT_FINALIZER,
  TENANT_UID_ANNOTATION,
} from "../../../lib/api/mod.ts";

type Json = Record<string, unknown>;

const T0 = new Date("2025-01-01T00:00:00Z");
const later = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

const MANAGED = {
  "istio-injection": "enabled",
  "kleff.io/tenant-username": "exampleuser",
  "kleff.io/tenant-plan": "basic",
  "kleff.io/tenant": "example-tenant",
  "app.kubernetes.io/managed-by": "kleff-tenant-operator",
  ...podSecurityLabels("restricted"),
};

/** A failure the simulated server answers with. */
class SimulatedError extends Error {
  constructor(readonly code: number, readonly reason: string, message: string) {
    super(message);
  }
}

/** A tiny API server: one tenant, namespaces, resourceVersions, finalizers, preconditions. */
class World {
  tenant: Json | undefined;
  namespaces = new Map<string, Json>();
  writes: string[] = [];
  #rv = 100;

  constructor(tenant: Json) {
    this.tenant = tenant;
  }

  nextRv(): string {
    return String(++this.#rv);
  }

  meta(object: Json): Json {
    return object.metadata as Json;
  }

  /** Decides from the current state. */
  decide(now: Date): Decision {
    const name = tenantNamespaceName(this.tenant);
    return decide(structuredClone(this.tenant), {
      namespace: name === undefined ? undefined : structuredClone(this.namespaces.get(name)),
    }, { now, context: NAMESPACE_ONLY });
  }

  /** Executes a decision as the I/O layer will; on failure executes decideFailure instead. */
  execute(decision: Decision, now: Date): Decision {
    let observed = structuredClone(this.tenant);
    for (const action of decision.actions) {
      try {
        const uid = this.apply(action);
        const claim = claimOf(action);
        if (claim !== undefined) {
          const metadata = observed?.metadata as Json;
          metadata.annotations = {
            ...(metadata.annotations as Json),
            [NAMESPACE_CLAIM_ANNOTATION]: claim,
          };
        }
        if (action.kind === "recordNamespace" || (action.kind === "create" && action.recordUid)) {
          const status = {
            ...(observed?.status as Json),
            namespace: action.kind === "create" ? action.object.metadata?.name : action.namespace,
          } as Json;
          if (action.kind === "create") {
            status.namespaceUID = uid;
            decision = {
              ...decision,
              status: { ...decision.status, namespaceUID: uid },
              writeStatus: true,
            };
          } else delete status.namespaceUID;
          observed = { ...observed, status };
        }
      } catch (error) {
        if (!(error instanceof SimulatedError)) throw error;
        const refused = error.code === 422 && isTenantPatch(action);
        const failure = decideFailure(observed, {
          code: error.code,
          reason: error.reason,
          message: error.message,
          during: action,
          // As the executor does: a refused Tenant patch is a stale view when it no longer
          // applies.
          stale: refused ? !tenantPatchApplies(action, this.tenant) : undefined,
        }, { now });
        for (const next of failure.actions) this.apply(next);
        this.writeStatus(failure);
        return failure;
      }
    }
    this.writeStatus(decision);
    return decision;
  }

  reconcile(now: Date): Decision {
    return this.execute(this.decide(now), now);
  }

  writeStatus(decision: Decision): void {
    if (!decision.writeStatus || this.tenant === undefined) return;
    this.writes.push("status");
    this.tenant.status = JSON.parse(JSON.stringify(decision.status));
    this.meta(this.tenant).resourceVersion = this.nextRv();
  }

  /** Applies one write; a create answers the created object's uid. */
  apply(action: Action): string | undefined {
    this.writes.push(action.kind);
    if (action.kind === "recordNamespace") {
      if (this.tenant === undefined) throw new SimulatedError(404, "NotFound", "tenant not found");
      const status: Json = { ...(this.tenant.status as Json), namespace: action.namespace };
      delete status.namespaceUID;
      this.tenant.status = status;
      this.meta(this.tenant).resourceVersion = this.nextRv();
      return;
    }
    if (isTenantPatch(action)) {
      if (this.tenant === undefined) throw new SimulatedError(404, "NotFound", "tenant not found");
      const meta = this.meta(this.tenant);
      if (!tenantPatchApplies(action, this.tenant)) {
        throw new SimulatedError(422, "Invalid", "the server rejected our request");
      }
      for (const operation of action.patch) {
        if (operation.op === "test") continue;
        const keys = operation.path.split("/").slice(2).map((key) => key.replaceAll("~1", "/"));
        const last = keys.pop()!;
        const parent = keys.reduce((object, key) => object[key] as Json, meta);
        if (operation.op === "remove") delete parent[last];
        else parent[last] = structuredClone(operation.value);
      }
      meta.resourceVersion = this.nextRv();
      if (meta.deletionTimestamp && (meta.finalizers as string[]).length === 0) {
        this.tenant = undefined;
      }
      return;
    }
    if (action.kind === "create") {
      const name = action.object.metadata?.name ?? "";
      if (this.namespaces.has(name)) {
        throw new SimulatedError(409, "AlreadyExists", `namespaces "${name}" already exists`);
      }
      const object = structuredClone(action.object) as Json;
      Object.assign(this.meta(object), {
        uid: `ns-uid-${name}`,
        resourceVersion: this.nextRv(),
        // The Tenant's second: not older than it.
        creationTimestamp: "2025-01-01T00:00:00Z",
      });
      object.status = { phase: "Active" };
      this.namespaces.set(name, object);
      return `ns-uid-${name}`;
    }
    const current = this.namespaces.get(action.name);
    if (current === undefined) throw new SimulatedError(404, "NotFound", "namespace not found");
    const meta = this.meta(current);
    if (action.kind === "patch") {
      const patch = action.patch.metadata as Json;
      if (patch.resourceVersion !== meta.resourceVersion) {
        throw new SimulatedError(409, "Conflict", "the object has been modified");
      }
      for (const field of ["labels", "annotations"]) {
        const changes = patch[field] as Record<string, string | null> | undefined;
        if (changes === undefined) continue;
        const map = { ...(meta[field] as Record<string, string> | undefined) };
        for (const [key, value] of Object.entries(changes)) {
          if (value === null) delete map[key];
          else map[key] = value;
        }
        meta[field] = map;
      }
      meta.resourceVersion = this.nextRv();
      return;
    }
    const { uid, resourceVersion } = action.preconditions;
    if (
      uid !== meta.uid ||
      (resourceVersion !== undefined && resourceVersion !== meta.resourceVersion)
    ) {
      throw new SimulatedError(409, "Conflict", "Precondition failed");
    }
    meta.deletionTimestamp = "2025-01-01T00:00:00Z";
    meta.resourceVersion = this.nextRv();
    current.status = { phase: "Terminating" };
  }

  /** The namespace controller finishing its work. */
  finishNamespaceDeletion(name: string): void {
    this.namespaces.delete(name);
  }
}

function tenantObject(spec: Json = {}, metadata: Json = {}): Json {
  return {
    apiVersion: "kleff.kleff.io/v1",
    kind: "Tenant",
    metadata: {
      name: "example-tenant",
      uid: "tenant-uid-1",
      generation: 1,
      resourceVersion: "7",
      creationTimestamp: "2025-01-01T00:00:00Z",
      ...metadata,
    },
    spec: { plan: "basic", userId: "user-12345", username: "exampleuser", ...spec },
  };
}

function namespaceObject(
  name: string,
  labels: Record<string, string>,
  annotations: Record<string, string>,
  extra: Json = {},
): Json {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name,
      uid: `ns-uid-${name}`,
      resourceVersion: "50",
      creationTimestamp: "2025-01-01T00:00:01Z",
      labels,
      annotations,
    },
    status: { phase: "Active" },
    ...extra,
  };
}

/** `object` with `metadata.creationTimestamp` set to `time`. */
function createdAt(object: Json, time: string): Json {
  return { ...object, metadata: { ...object.metadata as Json, creationTimestamp: time } };
}

function condition(decision: Decision, type: string) {
  return decision.status.conditions?.find((item) => item.type === type);
}

/** Runs reconciles until one makes no writes, returning the decisions (at most 5). */
function converge(world: World, start = 0): Decision[] {
  const decisions: Decision[] = [];
  for (let step = 0; step < 5; step++) {
    const decision = world.reconcile(later(start + step));
    decisions.push(decision);
    if (decision.actions.length === 0 && !decision.writeStatus) return decisions;
  }
  throw new Error(`no convergence: ${JSON.stringify(decisions.at(-1))}`);
}

/** Asserts the state is a fixed point: a decision over it is empty and keeps the status. */
function assertFixedPoint(world: World, now: Date): void {
  const decision = world.decide(now);
  assert.deepEqual(decision.actions, []);
  assert.deepEqual(decision.events, []);
  assert.equal(decision.writeStatus, false);
  assert.ok(statusEqual(world.tenant?.status, decision.status));
}

Deno.test("a new tenant gets finalizer and claim, namespace and status in one reconcile (3 writes)", () => {
  const world = new World(tenantObject());
  const decision = world.reconcile(T0);
  assert.deepEqual(decision.actions.map((action) => action.kind), ["addFinalizer", "create"]);
  assert.equal(
    decision.actions[0].kind === "addFinalizer" && decision.actions[0].claim,
    "user-12345",
  );
  assert.deepEqual(world.writes, ["addFinalizer", "create", "status"]);
  assert.deepEqual(world.meta(world.tenant!).finalizers, [TENANT_FINALIZER]);
  assert.deepEqual(world.meta(world.tenant!).annotations, {
    [NAMESPACE_CLAIM_ANNOTATION]: "user-12345",
  });
  const namespace = world.namespaces.get("user-12345");
  assert.deepEqual(world.meta(namespace!).labels, MANAGED);
  assert.deepEqual(world.meta(namespace!).annotations, { [TENANT_UID_ANNOTATION]: "tenant-uid-1" });
  assert.deepEqual(world.tenant!.status, {
    observedGeneration: 1,
    namespace: "user-12345",
    namespaceUID: "ns-uid-user-12345",
    conditions: [
      {
        type: "NamespaceReady",
        status: "True",
        reason: "NamespaceActive",
        message: "namespace user-12345 is active, owned by this tenant and labelled",
        lastTransitionTime: "2025-01-01T00:00:00Z",
        observedGeneration: 1,
      },
      {
        type: "ResourcesReady",
        status: "True",
        reason: "PlanApplied",
        message: "no quota and no LimitRange match plan basic (Pod Security restricted)",
        lastTransitionTime: "2025-01-01T00:00:00Z",
        observedGeneration: 1,
      },
      {
        type: "PoliciesReady",
        status: "True",
        reason: "NotInstalled",
        message: "no policy object is needed; not installed in the cluster, so not enforced: " +
          "networking.istio.io Gateway, security.istio.io AuthorizationPolicy, " +
          "security.istio.io PeerAuthentication, networking.istio.io Sidecar",
        lastTransitionTime: "2025-01-01T00:00:00Z",
        observedGeneration: 1,
      },
      {
        type: "TenantReady",
        status: "True",
        reason: "Ready",
        message: "all conditions are True (NamespaceReady, ResourcesReady, PoliciesReady)",
        lastTransitionTime: "2025-01-01T00:00:00Z",
        observedGeneration: 1,
      },
    ],
  });
  assert.deepEqual(decision.events.map((event) => [event.type, event.reason]), [
    ["Normal", "NamespaceCreated"],
    ["Normal", "Ready"],
  ]);
  assert.deepEqual(decision.requeue, { kind: "none" });
  assertFixedPoint(world, later(3600));
});

Deno.test("the finalizer patch keeps other finalizers and tests the uid and finalizers it read", () => {
  const decision = decide(tenantObject({}, { finalizers: ["other.io/keep"] }), {}, {
    now: T0,
    context: NAMESPACE_ONLY,
  });
  const action = decision.actions[0];
  assert.deepEqual(action, {
    kind: "addFinalizer",
    resource: action.resource,
    name: "example-tenant",
    claim: "user-12345",
    patch: [
      { op: "test", path: "/metadata/uid", value: "tenant-uid-1" },
      { op: "test", path: "/metadata/finalizers", value: ["other.io/keep"] },
      { op: "add", path: "/metadata/finalizers", value: ["other.io/keep", TENANT_FINALIZER] },
      // No annotations as read: a new map, tested absent, so none added since is lost.
      { op: "test", path: "/metadata/annotations", value: null },
      {
        op: "add",
        path: "/metadata/annotations",
        value: { [NAMESPACE_CLAIM_ANNOTATION]: "user-12345" },
      },
    ],
  });
  assert.equal(action.resource.plural, "tenants");
  if (action.kind !== "addFinalizer") throw new Error("unreachable");
  const as = (metadata: Json) => ({ metadata: { uid: "tenant-uid-1", ...metadata } });
  assert.ok(tenantPatchApplies(action, as({ finalizers: ["other.io/keep"], generation: 9 })));
  assert.ok(!tenantPatchApplies(action, as({ finalizers: ["other.io/keep", "new.io/x"] })));
  assert.ok(!tenantPatchApplies(action, as({})), "finalizers removed since");
  assert.ok(!tenantPatchApplies(action, { metadata: { finalizers: ["other.io/keep"] } }));
  assert.ok(
    !tenantPatchApplies(action, as({ finalizers: ["other.io/keep"], annotations: { a: "b" } })),
    "annotations added since",
  );
  assert.ok(!tenantPatchApplies(action, undefined), "gone");
  // Without finalizers, the patch tests for none (a missing member tests equal to null); with
  // annotations, the claim is one member added to them.
  const [none] = decide(tenantObject({}, { annotations: { "example.com/note": "x" } }), {}, {
    now: T0,
    context: NAMESPACE_ONLY,
  }).actions;
  assert.deepEqual(none.kind === "addFinalizer" && none.patch.slice(1), [
    { op: "test", path: "/metadata/finalizers", value: null },
    { op: "add", path: "/metadata/finalizers", value: [TENANT_FINALIZER] },
    { op: "add", path: "/metadata/annotations/kleff.io~1namespace-claim", value: "user-12345" },
  ]);
  if (none.kind !== "addFinalizer") throw new Error("unreachable");
  assert.ok(tenantPatchApplies(none, as({ annotations: {} })));
  assert.ok(!tenantPatchApplies(none, as({})), "annotations removed since: the add has no parent");
});

Deno.test("a tenant deleted before the finalizer patch gets nothing created", () => {
  const world = new World(tenantObject());
  const decision = world.decide(T0);
  // The tenant changes (here: is deleted and recreated) before the executor runs.
  world.meta(world.tenant!).resourceVersion = "8";
  world.meta(world.tenant!).uid = "tenant-uid-2";
  const outcome = world.execute(decision, T0);
  assert.deepEqual(world.writes, ["addFinalizer"]);
  assert.equal(world.namespaces.size, 0);
  assert.deepEqual(outcome.actions, []);
  assert.deepEqual(outcome.events, []);
  assert.deepEqual(outcome.requeue, { kind: "retry" });
});

Deno.test("a tenant deleted between the finalizer patch and the create leaves no namespace", () => {
  const world = new World(tenantObject());
  const decision = world.decide(T0);
  assert.deepEqual(decision.actions.map((action) => action.kind), ["addFinalizer", "create"]);
  world.apply(decision.actions[0]);
  world.meta(world.tenant!).deletionTimestamp = "2025-01-01T00:00:01Z";
  world.apply(decision.actions[1]);
  assert.ok(world.namespaces.has("user-12345"));
  // The status write of that decision may or may not have happened; try the harder case: not
  // (the claim recorded before the create is what teardown goes by).
  const teardown = world.reconcile(later(1));
  assert.deepEqual(teardown.actions.map((action) => action.kind), ["delete"]);
  world.finishNamespaceDeletion("user-12345");
  const last = world.reconcile(later(2));
  assert.deepEqual(last.actions.map((action) => action.kind), ["removeFinalizer"]);
  assert.equal(world.tenant, undefined);
  assert.equal(world.namespaces.size, 0);
});

interface Case {
  name: string;
  tenant: Json;
  namespaces?: Json[];
  actions: string[];
  reason: string;
  ready: "True" | "False";
  events: string[];
  recordedNamespace?: string;
  requeue: string;
}

const OURS = { [TENANT_UID_ANNOTATION]: "tenant-uid-1" };
const WITH_FINALIZER = { finalizers: [TENANT_FINALIZER] };
const READY_STATUS = { namespace: "user-12345", namespaceUID: "ns-uid-user-12345" };
/** With the finalizer, and the claim a create whose answer was lost left behind. */
const CLAIMED = {
  ...WITH_FINALIZER,
  annotations: { [NAMESPACE_CLAIM_ANNOTATION]: "user-12345" },
};

const cases: Case[] = [
  {
    name: "new tenant",
    tenant: tenantObject(),
    actions: ["addFinalizer", "create"],
    reason: "NamespaceActive",
    ready: "True",
    events: ["NamespaceCreated", "Ready"],
    recordedNamespace: "user-12345",
    requeue: "none",
  },
  {
    name: "namespace deleted by hand is recreated",
    tenant: { ...tenantObject({}, WITH_FINALIZER), status: READY_STATUS },
    actions: ["recordNamespace", "create"],
    reason: "NamespaceActive",
    ready: "True",
    events: ["NamespaceCreated", "Ready"],
    recordedNamespace: "user-12345",
    requeue: "none",
  },
  {
    name: "own namespace recorded without its uid (create answer lost, older release) is taken up",
    tenant: { ...tenantObject({}, WITH_FINALIZER), status: { namespace: "user-12345" } },
    namespaces: [namespaceObject("user-12345", MANAGED, OURS)],
    actions: [],
    reason: "NamespaceActive",
    ready: "True",
    events: ["Ready"],
    recordedNamespace: "user-12345",
    requeue: "none",
  },
  {
    name:
      "own namespace claimed in the annotations without its uid (create answer lost) is taken up",
    tenant: tenantObject({}, CLAIMED),
    namespaces: [namespaceObject("user-12345", MANAGED, OURS)],
    actions: [],
    reason: "NamespaceActive",
    ready: "True",
    events: ["Ready"],
    recordedNamespace: "user-12345",
    requeue: "none",
  },
  {
    // Whoever may edit both the Tenant and that namespace could write the claim and our marks:
    // a namespace older than the Tenant cannot be the one the operator created for it.
    name: "a claimed namespace older than the Tenant is not adopted, whatever it carries",
    tenant: tenantObject({}, CLAIMED),
    namespaces: [
      createdAt(namespaceObject("user-12345", MANAGED, OURS), "2024-12-31T23:59:59Z"),
    ],
    actions: [],
    reason: "NamespaceConflict",
    ready: "False",
    events: ["NamespaceConflict"],
    recordedNamespace: "user-12345",
    requeue: "after",
  },
  {
    name: "a namespace annotated with our uid that the tenant never recorded is not adopted",
    tenant: tenantObject({}, WITH_FINALIZER),
    namespaces: [namespaceObject("user-12345", MANAGED, OURS)],
    actions: [],
    reason: "NamespaceConflict",
    ready: "False",
    events: ["NamespaceConflict"],
    requeue: "after",
  },
  {
    name: "a namespace annotated with our uid replacing the recorded one is not adopted",
    tenant: {
      ...tenantObject({}, WITH_FINALIZER),
      status: { namespace: "user-12345", namespaceUID: "uid-of-the-deleted-one" },
    },
    namespaces: [namespaceObject("user-12345", MANAGED, OURS)],
    actions: [],
    reason: "NamespaceConflict",
    ready: "False",
    events: ["NamespaceConflict"],
    recordedNamespace: "user-12345",
    requeue: "after",
  },
  {
    name: "the recorded namespace stripped of annotation and labels is still ours: restored",
    tenant: { ...tenantObject({}, WITH_FINALIZER), status: READY_STATUS },
    namespaces: [namespaceObject("user-12345", { team: "web" }, {})],
    actions: ["patch"],
    reason: "NamespaceActive",
    ready: "True",
    events: ["NamespaceUpdated", "Ready"],
    recordedNamespace: "user-12345",
    requeue: "none",
  },
  {
    name: "a reserved userId is refused: nothing created",
    tenant: tenantObject({ userId: "kube-tenant" }),
    actions: ["addFinalizer"],
    reason: "InvalidSpec",
    ready: "False",
    events: ["InvalidSpec"],
    requeue: "none",
  },
  {
    name: "a reserved namespace that exists and carries our records is not touched",
    tenant: {
      ...tenantObject({ userId: "istio-system" }, WITH_FINALIZER),
      status: { namespace: "istio-system", namespaceUID: "ns-uid-istio-system" },
    },
    namespaces: [namespaceObject("istio-system", { team: "web" }, OURS)],
    actions: [],
    reason: "InvalidSpec",
    ready: "False",
    events: ["InvalidSpec"],
    recordedNamespace: "istio-system",
    requeue: "none",
  },
  {
    name: "edited managed labels are restored, other labels kept",
    tenant: { ...tenantObject({}, WITH_FINALIZER), status: READY_STATUS },
    namespaces: [
      namespaceObject("user-12345", {
        ...MANAGED,
        "istio-injection": "disabled",
        "kleff.io/tenant-plan": "pro",
        "team": "web",
      }, { ...OURS, "note": "hand-written" }),
    ],
    actions: ["patch"],
    reason: "NamespaceActive",
    ready: "True",
    events: ["NamespaceUpdated", "Ready"],
    recordedNamespace: "user-12345",
    requeue: "none",
  },
  {
    name: "plan and username change relabel",
    tenant: {
      ...tenantObject({ plan: "pro", username: "renamed" }, WITH_FINALIZER),
      status: READY_STATUS,
    },
    namespaces: [namespaceObject("user-12345", MANAGED, OURS)],
    actions: ["patch"],
    reason: "NamespaceActive",
    ready: "True",
    events: ["NamespaceUpdated", "Ready"],
    recordedNamespace: "user-12345",
    requeue: "none",
  },
  {
    name: "foreign namespace is a conflict",
    tenant: tenantObject(),
    namespaces: [namespaceObject("user-12345", { "team": "web" }, {})],
    actions: ["addFinalizer"],
    reason: "NamespaceConflict",
    ready: "False",
    events: ["NamespaceConflict"],
    requeue: "after",
  },
  {
    name: "namespace of another tenant is a conflict",
    tenant: tenantObject({}, WITH_FINALIZER),
    namespaces: [
      namespaceObject("user-12345", { ...MANAGED, "kleff.io/tenant": "first-tenant" }, {
        [TENANT_UID_ANNOTATION]: "tenant-uid-0",
      }),
    ],
    actions: [],
    reason: "NamespaceConflict",
    ready: "False",
    events: ["NamespaceConflict"],
    requeue: "after",
  },
  {
    name: "own namespace terminating (deleted by hand)",
    tenant: { ...tenantObject({}, WITH_FINALIZER), status: READY_STATUS },
    namespaces: [
      namespaceObject("user-12345", MANAGED, OURS, {
        status: { phase: "Terminating" },
      }),
    ],
    actions: [],
    reason: "NamespaceTerminating",
    ready: "False",
    events: ["NamespaceTerminating"],
    recordedNamespace: "user-12345",
    requeue: "after",
  },
  {
    name: "invalid spec creates nothing",
    tenant: tenantObject({ userId: "Not_A_Label" }),
    actions: ["addFinalizer"],
    reason: "InvalidSpec",
    ready: "False",
    events: ["InvalidSpec"],
    requeue: "none",
  },
  {
    name: "userId changed after the namespace exists",
    tenant: { ...tenantObject({ userId: "user-99999" }, WITH_FINALIZER), status: READY_STATUS },
    namespaces: [namespaceObject("user-12345", MANAGED, OURS)],
    actions: [],
    reason: "InvalidSpec",
    ready: "False",
    events: ["InvalidSpec"],
    recordedNamespace: "user-12345",
    requeue: "none",
  },
];

for (const testCase of cases) {
  Deno.test(`decide: ${testCase.name}`, () => {
    const world = new World(structuredClone(testCase.tenant));
    for (const namespace of testCase.namespaces ?? []) {
      world.namespaces.set(world.meta(namespace).name as string, structuredClone(namespace));
    }
    const before = structuredClone([...world.namespaces.entries()]);
    const decision = world.reconcile(T0);
    assert.deepEqual(decision.actions.map((action) => action.kind), testCase.actions);
    assert.equal(condition(decision, "NamespaceReady")?.reason, testCase.reason);
    assert.equal(condition(decision, "TenantReady")?.status, testCase.ready);
    if (testCase.ready === "False") {
      assert.equal(condition(decision, "TenantReady")?.reason, testCase.reason);
    }
    assert.deepEqual(decision.events.map((event) => event.reason), testCase.events);
    for (const event of decision.events) {
      const warning = ["NamespaceConflict", "NamespaceTerminating", "InvalidSpec"];
      assert.equal(event.type, warning.includes(event.reason) ? "Warning" : "Normal");
    }
    assert.equal(decision.status.namespace, testCase.recordedNamespace);
    assert.equal(decision.requeue.kind, testCase.requeue);
    if (!testCase.actions.some((kind) => kind === "create" || kind === "patch")) {
      assert.deepEqual([...world.namespaces.entries()], before, "namespaces untouched");
    }
    assert.ok(world.namespaces.size <= 1, "never a second namespace");
    assertFixedPoint(world, later(600));
  });
}

Deno.test("restoring labels patches only the managed keys that differ", () => {
  const world = new World({ ...tenantObject({}, WITH_FINALIZER), status: READY_STATUS });
  const labels = { ...MANAGED, "team": "web" } as Record<string, string>;
  delete labels["kleff.io/tenant"];
  labels["istio-injection"] = "disabled";
  world.namespaces.set(
    "user-12345",
    namespaceObject("user-12345", labels, { ...OURS, "note": "x" }),
  );
  const decision = world.reconcile(T0);
  assert.deepEqual(decision.actions[0], {
    kind: "patch",
    resource: decision.actions[0].resource,
    name: "user-12345",
    patch: {
      metadata: {
        resourceVersion: "50",
        labels: { "istio-injection": "enabled", "kleff.io/tenant": "example-tenant" },
      },
    },
  });
  assert.equal(
    decision.events[0].message,
    "set istio-injection, kleff.io/tenant on namespace user-12345",
  );
  assert.deepEqual(world.meta(world.namespaces.get("user-12345")!).labels, {
    ...MANAGED,
    "team": "web",
  });
});

Deno.test("a namespace forged with our annotation is never adopted, and released untouched", () => {
  const world = new World(tenantObject({}, WITH_FINALIZER));
  world.namespaces.set("user-12345", namespaceObject("user-12345", MANAGED, OURS));
  const before = structuredClone(world.namespaces.get("user-12345"));
  const decision = world.reconcile(T0);
  assert.deepEqual(decision.actions, []);
  assert.equal(decision.status.namespace, undefined);
  assert.equal(condition(decision, "NamespaceReady")?.reason, "NamespaceConflict");
  assert.match(
    condition(decision, "NamespaceReady")!.message,
    /carries this Tenant's kleff.io\/tenant-uid annotation but is not the namespace the operator created for it/,
  );
  world.meta(world.tenant!).deletionTimestamp = "2025-01-01T00:00:05Z";
  const teardown = world.reconcile(later(5));
  assert.deepEqual(teardown.actions.map((action) => action.kind), ["removeFinalizer"]);
  assert.deepEqual(world.namespaces.get("user-12345"), before);
});

for (const finalizers of [[], [TENANT_FINALIZER]]) {
  const which = finalizers.length ? "a tenant with the finalizer" : "a new tenant";
  Deno.test(`${which}: a namespace appearing under the name just before the create withdraws the claim`, () => {
    const world = new World(tenantObject({}, { finalizers }));
    const decision = world.decide(T0);
    assert.deepEqual(
      decision.actions.map((action) => action.kind),
      [finalizers.length ? "claimNamespace" : "addFinalizer", "create"],
    );
    // Someone creates the namespace, annotated with this tenant's uid, between read and create.
    world.namespaces.set("user-12345", namespaceObject("user-12345", MANAGED, OURS));
    const outcome = world.execute(decision, T0);
    assert.deepEqual(outcome.requeue, { kind: "retry" });
    assert.deepEqual(outcome.actions.map((action) => action.kind), ["withdrawClaim"]);
    assert.deepEqual(world.writes.slice(-2), ["withdrawClaim", "status"]);
    assert.deepEqual(world.meta(world.tenant!).annotations, {});
    assert.equal(world.tenant!.status && (world.tenant!.status as Json).namespace, undefined);
    const next = world.reconcile(later(1));
    assert.equal(condition(next, "NamespaceReady")?.reason, "NamespaceConflict");
    assert.deepEqual(next.actions, [], "no new claim on a namespace that exists");
  });
}

Deno.test("a claim withdrawn by someone else since is a stale view, looked at again", () => {
  const world = new World(tenantObject({}, WITH_FINALIZER));
  const decision = world.decide(T0);
  world.apply(decision.actions[0]);
  world.namespaces.set("user-12345", namespaceObject("user-12345", {}, {}));
  // The claim the failure would withdraw is gone by the time it runs.
  const failure = decideFailure(world.tenant, {
    code: 409,
    reason: "AlreadyExists",
    message: "exists",
    during: decision.actions[1],
  }, { now: T0 });
  assert.deepEqual(failure.actions.map((action) => action.kind), ["withdrawClaim"]);
  const withdraw = failure.actions[0];
  delete (world.meta(world.tenant!).annotations as Json)[NAMESPACE_CLAIM_ANNOTATION];
  assert.ok(isTenantPatch(withdraw) && !tenantPatchApplies(withdraw, world.tenant));
});

Deno.test("a claim in the annotations counts only for spec.userId", () => {
  // Whoever edits the Tenant could write any name there: it never names another namespace.
  const tenant = tenantObject({}, {
    ...WITH_FINALIZER,
    annotations: { [NAMESPACE_CLAIM_ANNOTATION]: "someone-else" },
  });
  assert.equal(tenantNamespaceName(tenant), "user-12345");
  const world = new World(tenant);
  world.namespaces.set("someone-else", namespaceObject("someone-else", MANAGED, OURS));
  const decision = world.reconcile(T0);
  assert.deepEqual(decision.actions.map((action) => action.kind), ["claimNamespace", "create"]);
  assert.deepEqual(world.meta(world.namespaces.get("someone-else")!).labels, MANAGED);
  assert.equal(condition(decision, "TenantReady")?.status, "True");
});

Deno.test("a create whose answer was lost is recognised by the recorded claim", () => {
  const world = new World(tenantObject({}, WITH_FINALIZER));
  const decision = world.decide(T0);
  world.apply(decision.actions[0]);
  world.apply(decision.actions[1]);
  // The operator stops here: the status never learns the namespace's uid.
  assert.equal(world.tenant!.status, undefined);
  assert.deepEqual(world.meta(world.tenant!).annotations, {
    [NAMESPACE_CLAIM_ANNOTATION]: "user-12345",
  });
  const next = world.reconcile(later(1));
  assert.deepEqual(next.actions, []);
  assert.equal(next.status.namespaceUID, "ns-uid-user-12345");
  assert.equal(condition(next, "TenantReady")?.status, "True");
  assertFixedPoint(world, later(2));
});

Deno.test("userId change keeps pointing at the old namespace and never creates the new one", () => {
  const world = new World({
    ...tenantObject({ userId: "user-99999" }, WITH_FINALIZER),
    status: READY_STATUS,
  });
  assert.equal(tenantNamespaceName(world.tenant), "user-12345");
  const decision = converge(world)[0];
  assert.equal(world.namespaces.size, 0);
  assert.match(
    condition(decision, "NamespaceReady")!.message,
    /spec.userId changed from user-12345 to user-99999/,
  );
  // Setting it back recovers the tenant (the old namespace is recreated if it had gone).
  (world.tenant!.spec as Json).userId = "user-12345";
  world.meta(world.tenant!).generation = 2;
  const fixed = world.reconcile(later(60));
  assert.deepEqual(fixed.actions.map((action) => action.kind), ["recordNamespace", "create"]);
  assert.equal(condition(fixed, "TenantReady")?.status, "True");
  assert.equal(condition(fixed, "TenantReady")?.observedGeneration, 2);
  assert.equal(fixed.status.observedGeneration, 2);
});

Deno.test("a conflict resolved by removing the foreign namespace converges to ready", () => {
  const world = new World(tenantObject());
  world.namespaces.set("user-12345", namespaceObject("user-12345", {}, {}));
  converge(world);
  world.namespaces.delete("user-12345");
  const decisions = converge(world, 100);
  assert.deepEqual(decisions[0].actions.map((action) => action.kind), [
    "claimNamespace",
    "create",
  ]);
  assert.deepEqual(decisions[0].events.map((event) => event.reason), ["NamespaceCreated", "Ready"]);
  const ready = condition(decisions[0], "TenantReady")!;
  assert.equal(ready.lastTransitionTime, "2025-01-01T00:01:40Z");
});

Deno.test("a terminating own namespace is recreated once gone", () => {
  const world = new World({
    ...tenantObject({}, WITH_FINALIZER),
    status: { namespace: "user-12345", namespaceUID: "old-uid" },
  });
  world.namespaces.set(
    "user-12345",
    namespaceObject("user-12345", MANAGED, OURS, {
      metadata: {
        name: "user-12345",
        uid: "old-uid",
        labels: MANAGED,
        annotations: OURS,
        deletionTimestamp: "2025-01-01T00:00:00Z",
      },
      status: {
        phase: "Terminating",
        conditions: [{
          type: "NamespaceContentRemaining",
          status: "True",
          reason: "SomeResourcesRemain",
          message: "Some resources are remaining: pods. has 1 resource instances",
        }],
      },
    }),
  );
  const waiting = world.reconcile(T0);
  assert.match(
    condition(waiting, "NamespaceReady")!.message,
    /being deleted \(Some resources are remaining: pods.*\); it will be recreated once it is gone/,
  );
  world.finishNamespaceDeletion("user-12345");
  const recreated = world.reconcile(later(5));
  assert.deepEqual(recreated.actions.map((action) => action.kind), ["recordNamespace", "create"]);
  assert.equal(recreated.events[0].message, "recreated namespace user-12345 (it had been deleted)");
});

Deno.test("lastTransitionTime moves only when a condition's status changes", () => {
  const world = new World(tenantObject());
  world.namespaces.set("user-12345", namespaceObject("user-12345", {}, {}));
  world.reconcile(T0);
  // Conflict -> invalid spec: both False, reason changes, time stays.
  (world.tenant!.spec as Json).plan = "not a label!";
  const invalid = world.reconcile(later(10));
  assert.equal(condition(invalid, "NamespaceReady")?.reason, "InvalidSpec");
  assert.equal(condition(invalid, "NamespaceReady")?.lastTransitionTime, "2025-01-01T00:00:00Z");
  assert.deepEqual(invalid.events.map((event) => event.reason), ["InvalidSpec"]);
  // Fixed plan, namespace gone: False -> True, time moves.
  (world.tenant!.spec as Json).plan = "basic";
  world.namespaces.clear();
  const ready = world.reconcile(later(20));
  assert.equal(condition(ready, "NamespaceReady")?.lastTransitionTime, "2025-01-01T00:00:20Z");
  assert.equal(condition(ready, "TenantReady")?.lastTransitionTime, "2025-01-01T00:00:20Z");
  // A later no-op keeps it.
  assertFixedPoint(world, later(3000));
});

Deno.test("an API error on create becomes ApiError, then recovers with one Ready event", () => {
  const world = new World(tenantObject({}, WITH_FINALIZER));
  const decision = world.decide(T0);
  const failed = decideFailure(world.tenant, {
    code: 500,
    reason: "InternalError",
    message: "etcd timeout",
    during: decision.actions[1],
  }, { now: T0 });
  assert.deepEqual(failed.actions, []);
  assert.deepEqual(failed.requeue, { kind: "backoff" });
  assert.equal(failed.writeStatus, true);
  const message = "create Namespace user-12345 failed: 500 InternalError: etcd timeout";
  assert.deepEqual(failed.events, [{ type: "Warning", reason: "ApiError", message }]);
  assert.equal(condition(failed, "NamespaceReady")?.reason, "ApiError");
  assert.equal(condition(failed, "TenantReady")?.reason, "ApiError");
  assert.equal(condition(failed, "TenantReady")?.message, `NamespaceReady: ${message}`);
  world.writeStatus(failed);
  const recovered = world.reconcile(later(30));
  assert.deepEqual(recovered.events.map((event) => event.reason), ["NamespaceCreated", "Ready"]);
  assert.equal(condition(recovered, "TenantReady")?.lastTransitionTime, "2025-01-01T00:00:30Z");
  assertFixedPoint(world, later(60));
});

Deno.test("stale-view failures (404, 409) write and record nothing and retry", () => {
  const tenant = { ...tenantObject({}, WITH_FINALIZER), status: READY_STATUS };
  const during = decide(tenant, {}, { now: T0, context: NAMESPACE_ONLY }).actions[0];
  for (const [code, reason] of [[409, "Conflict"], [404, "NotFound"]]) {
    const failed = decideFailure(tenant, {
      code: code as number,
      reason: reason as string,
      message: "x",
      during,
    }, { now: T0 });
    assert.deepEqual(failed.events, []);
    assert.equal(failed.writeStatus, false);
    assert.deepEqual(failed.requeue, { kind: "retry" });
  }
});

Deno.test("a failed finalizer patch is an ApiError of the tenant itself", () => {
  const tenant = tenantObject();
  const during = decide(tenant, {}, { now: T0, context: NAMESPACE_ONLY }).actions[0];
  const failed = decideFailure(
    tenant,
    { code: 0, reason: "", message: "connection reset", during },
    {
      now: T0,
    },
  );
  assert.equal(condition(failed, "NamespaceReady"), undefined);
  assert.deepEqual(
    {
      reason: condition(failed, "TenantReady")?.reason,
      message: condition(failed, "TenantReady")?.message,
    },
    {
      reason: "ApiError",
      message: `add finalizer ${TENANT_FINALIZER} to Tenant example-tenant and claim namespace ` +
        "user-12345 failed: no response: connection reset",
    },
  );
});

Deno.test("a refused finalizer patch: stale when its tests no longer hold, else an ApiError", () => {
  const tenant = tenantObject();
  const during = decide(tenant, {}, { now: T0, context: NAMESPACE_ONLY }).actions[0];
  const refused = { code: 422, reason: "Invalid", message: "the server rejected it", during };
  const stale = decideFailure(tenant, { ...refused, stale: true }, { now: T0 });
  assert.deepEqual(stale.requeue, { kind: "retry" });
  assert.deepEqual(stale.actions, []);
  assert.deepEqual(stale.events, []);
  assert.equal(stale.writeStatus, false);
  const rejected = decideFailure(tenant, { ...refused, stale: false }, { now: T0 });
  assert.deepEqual(rejected.requeue, { kind: "backoff" });
  assert.equal(condition(rejected, "TenantReady")?.reason, "ApiError");
});

Deno.test("a generation bump alone rewrites only observedGeneration, without events", () => {
  const world = new World(tenantObject());
  converge(world);
  world.meta(world.tenant!).generation = 5;
  const decision = world.reconcile(later(50));
  assert.deepEqual(decision.actions, []);
  assert.deepEqual(decision.events, []);
  assert.equal(decision.writeStatus, true);
  assert.equal(decision.status.observedGeneration, 5);
  assert.ok(decision.status.conditions?.every((item) => item.observedGeneration === 5));
  assert.ok(
    decision.status.conditions?.every((item) => item.lastTransitionTime === "2025-01-01T00:00:00Z"),
  );
  assertFixedPoint(world, later(100));
});

Deno.test("an API error during teardown keeps TenantReady Terminating and warns", () => {
  const world = new World(tenantObject());
  converge(world);
  world.meta(world.tenant!).deletionTimestamp = "2025-01-01T01:00:00Z";
  const decision = world.decide(later(3600));
  assert.deepEqual(decision.actions.map((action) => action.kind), ["delete"]);
  const failed = decideFailure(world.tenant, {
    code: 503,
    reason: "ServiceUnavailable",
    message: "try later",
    during: decision.actions[0],
  }, { now: later(3600) });
  const message = "delete Namespace user-12345 failed: 503 ServiceUnavailable: try later";
  assert.equal(condition(failed, "NamespaceReady")?.reason, "ApiError");
  assert.deepEqual(
    [condition(failed, "TenantReady")?.reason, condition(failed, "TenantReady")?.message],
    ["Terminating", message],
  );
  assert.deepEqual(failed.events, [{ type: "Warning", reason: "ApiError", message }]);
  assert.deepEqual(failed.requeue, { kind: "backoff" });
});
