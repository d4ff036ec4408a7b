// The audit's verdicts without a server: a ready tenant is settled and its objects match what its
// plan wants object by object; anything a reconcile would act on is caught; the comparison is the
// one `syncObjects` makes; new tenants read nothing; writes are grouped in stages.
import assert from "node:assert/strict";
import {
  type Action,
  actionStages,
  auditTenant,
  decide,
  type DesiredObject,
  isNewTenant,
  observedContent,
  ownedContent,
  ownedShape,
  type PlanContext,
  readTenant,
  type SettledTenant,
  syncObjects,
  wouldPrune,
} from "../../../lib/reconcile/mod.ts";
import { BUILTIN, FULL, newTenant, NOW, ready, type World } from "./support.ts";

type Json = Record<string, unknown>;

function settled(world: World, context: PlanContext): SettledTenant {
  const audit = auditTenant(world.tenant, { now: NOW, context });
  if (!audit.settled) throw new Error(`not settled: ${audit.reason}`);
  return audit.tenant;
}

/** Each observed object with the planned entry of its kind and name. */
function pairs(world: World, tenant: SettledTenant) {
  const listed = [
    { resource: tenant.planned[0].resource, object: world.namespace },
    ...world.objects.flatMap((kind) =>
      kind.items.map((object) => ({ resource: kind.resource, object: object as Json }))
    ),
  ];
  return listed.map(({ resource, object }) => {
    const name = (object.metadata as Json).name;
    const planned = tenant.planned.find((item) =>
      item.resource.plural === resource.plural && item.name === name
    );
    return { resource, object, planned };
  });
}

Deno.test("a ready tenant is settled, and every object it has is what its plan wants", () => {
  for (const context of [BUILTIN, FULL]) {
    const world = ready(context);
    const tenant = settled(world, context);
    assert.equal(tenant.namespace, "ns-t");
    const listed = pairs(world, tenant);
    assert.equal(listed.length, tenant.planned.length, "one planned entry per object");
    for (const { planned, object } of listed) {
      assert.ok(planned, `planned: ${JSON.stringify(object)}`);
      assert.equal(observedContent(planned, object, tenant), planned.content);
    }
  }
});

Deno.test("anything a reconcile would act on unsettles the tenant", () => {
  const world = ready(BUILTIN);
  const variants: [string, (tenant: Json) => void][] = [
    ["no finalizer", (tenant) => (tenant.metadata as Json).finalizers = []],
    ["being deleted", (tenant) => (tenant.metadata as Json).deletionTimestamp = NOW.toISOString()],
    ["a new generation", (tenant) => (tenant.metadata as Json).generation = 2],
    ["another plan", (tenant) => (tenant.spec as Json).plan = "pro"],
    ["an unknown plan", (tenant) => (tenant.spec as Json).plan = "gold"],
    ["no recorded uid", (tenant) => delete (tenant.status as Json).namespaceUID],
    ["an edited condition", (tenant) => {
      const conditions = (tenant.status as Json).conditions as Json[];
      conditions[1].message = "edited";
    }],
    ["a stale quota summary", (tenant) => (tenant.status as Json).quota = "pods=1"],
  ];
  for (const [what, change] of variants) {
    const tenant = structuredClone(world.tenant);
    change(tenant);
    assert.equal(auditTenant(tenant, { now: NOW, context: BUILTIN }).settled, false, what);
  }
  const settledAfterClaim = (tenant: unknown, context: PlanContext) =>
    auditTenant(tenant, {
      now: NOW,
      context,
      hostClaims: [{ tenant: "first", hosts: ["*.alice.apps.example.com"] }],
    }).settled;
  assert.equal(
    settledAfterClaim(world.tenant, BUILTIN),
    true,
    "no Gateway without Istio: host claims do not matter",
  );
  const full = ready(FULL);
  assert.equal(settledAfterClaim(full.tenant, FULL), false, "an earlier claim on its hosts");
  assert.equal(
    auditTenant(full.tenant, { now: NOW, context: BUILTIN }).settled,
    false,
    "Istio and Gatekeeper gone: its PoliciesReady message changes",
  );
});

Deno.test("drift, a stolen label, a foreign or terminating object: the content differs", () => {
  const world = ready(FULL);
  const tenant = settled(world, FULL);
  const listed = pairs(world, tenant);
  const find = (plural: string) => listed.find((item) => item.resource.plural === plural)!;
  const quota = find("resourcequotas");
  const same = structuredClone(quota.object);
  ((same.spec as Json).hard as Json)["requests.cpu"] = "1000m";
  (same.metadata as Json).labels = { ...(same.metadata as Json).labels as Json, extra: "yes" };
  assert.equal(
    observedContent(quota.planned!, same, tenant),
    quota.planned!.content,
    "an equal quantity and a label of someone else's are no drift",
  );
  const changes: [string, typeof quota, (object: Json) => void][] = [
    ["a raised quota", quota, (object) => ((object.spec as Json).hard as Json).pods = "1000"],
    ["a quota scope", quota, (object) => (object.spec as Json).scopes = ["BestEffort"]],
    ["a stripped label", quota, (object) => (object.metadata as Json).labels = {}],
    ["a stripped annotation", quota, (object) => (object.metadata as Json).annotations = {}],
    ["a policy opened up", find("networkpolicies"), (object) => {
      (object.spec as Json).ingress = [{}];
    }],
    ["a namespace label", find("namespaces"), (object) => {
      ((object.metadata as Json).labels as Json)["pod-security.kubernetes.io/enforce"] =
        "privileged";
    }],
  ];
  for (const [what, item, change] of changes) {
    const object = structuredClone(item.object);
    change(object);
    assert.notEqual(observedContent(item.planned!, object, tenant), item.planned!.content, what);
  }
  const unusable: [string, typeof quota, (object: Json) => void][] = [
    ["a quota being deleted", quota, (object) => {
      (object.metadata as Json).deletionTimestamp = NOW.toISOString();
    }],
    ["another namespace under the name", find("namespaces"), (object) => {
      (object.metadata as Json).uid = "someone-else";
    }],
    ["a constraint that is not ours", find("k8sallowedrepos"), (object) => {
      (object.metadata as Json).annotations = {};
    }],
  ];
  for (const [what, item, change] of unusable) {
    const object = structuredClone(item.object);
    change(object);
    assert.equal(observedContent(item.planned!, object, tenant), undefined, what);
  }
});

Deno.test("an object of ours the plan no longer wants would be pruned; others would not", () => {
  const world = ready(BUILTIN);
  const tenant = settled(world, BUILTIN);
  const quota = world.objects.find((kind) => kind.resource.plural === "resourcequotas")!;
  const extra = structuredClone(quota.items[0]) as Json;
  (extra.metadata as Json).name = "kleff-old";
  assert.ok(wouldPrune(quota.resource, extra, tenant));
  const theirs = structuredClone(extra);
  (theirs.metadata as Json).annotations = {};
  assert.ok(!wouldPrune(quota.resource, theirs, tenant), "not ours");
  const going = structuredClone(extra);
  (going.metadata as Json).deletionTimestamp = NOW.toISOString();
  assert.ok(!wouldPrune(quota.resource, going, tenant), "already being deleted");
  const elsewhere = structuredClone(extra);
  (elsewhere.metadata as Json).namespace = "ns-other";
  assert.ok(!wouldPrune(quota.resource, elsewhere, tenant), "in another namespace");
});

Deno.test("owned content is equal exactly when syncObjects has nothing to restore", () => {
  const world = ready(FULL);
  const view = readTenant(world.tenant);
  assert.ok(view.ok);
  const first = decide(newTenant(), {}, { now: NOW, context: FULL });
  const creates = first.actions.filter((action): action is Extract<Action, { kind: "create" }> =>
    action.kind === "create" && action.resource.kind !== "Namespace"
  );
  const edits: ((object: Json) => void)[] = [
    () => {},
    (object) => (object.metadata as Json).labels = {},
    (object) => ((object.metadata as Json).labels as Json).other = "x",
    (object) => (object.spec as Json).extra = { a: 1 },
    (object) => delete object.spec,
    (object) => (object.spec as Json).scopes = null,
    (object) => {
      const spec = object.spec as Json;
      const key = Object.keys(spec)[0];
      spec[key] = structuredClone(spec[key]);
    },
  ];
  for (const create of creates) {
    const stored = world.objects.find((kind) => kind.resource.plural === create.resource.plural)!;
    const desired = stored.items[0] as Json;
    for (const edit of edits) {
      const object = structuredClone(desired);
      edit(object);
      const item: DesiredObject = {
        resource: create.resource,
        object: create.object,
        specFields: Object.keys(create.object.spec as Json).concat(["scopes", "extra"]),
      };
      const sync = syncObjects(view.tenant, [item], {
        observed: [{ resource: create.resource, items: [object] }],
        prune: [],
      });
      const shape = ownedShape(item);
      assert.equal(
        sync.actions.length === 0,
        ownedContent(shape, object) === ownedContent(shape, create.object),
        `${create.resource.kind} after ${edit.toString()}`,
      );
    }
  }
});

Deno.test("only a Tenant the operator never wrote is new: nothing is read for it", () => {
  assert.ok(isNewTenant(newTenant()));
  assert.ok(isNewTenant({ ...newTenant(), status: {} }));
  const world = ready(BUILTIN);
  assert.ok(!isNewTenant(world.tenant), "ready");
  assert.ok(!isNewTenant({ ...newTenant(), status: { namespace: "ns-t" } }), "a recorded claim");
  assert.ok(
    !isNewTenant({ ...newTenant(), status: { conditions: [] } }),
    "a status once written (a withdrawn claim)",
  );
  assert.ok(!isNewTenant({ ...newTenant(), spec: { userId: "-" } }), "an invalid spec");
  const deleting = structuredClone(newTenant());
  (deleting.metadata as Json).deletionTimestamp = NOW.toISOString();
  assert.ok(!isNewTenant(deleting));
});

Deno.test("stages: Tenant writes together, the namespace alone, object writes together, in order", () => {
  const first = decide(newTenant(), {}, { now: NOW, context: FULL });
  assert.deepEqual(
    actionStages(first.actions).map((stage) => stage.map((action) => action.resource.kind)),
    [
      ["Tenant"],
      ["Namespace"],
      [
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
        "Gateway",
        "AuthorizationPolicy",
        "PeerAuthentication",
        "Sidecar",
        "K8sAllowedRepos",
      ],
    ],
  );
  const seedSet: PlanContext = {
    ...BUILTIN,
    catalogue: {
      ...BUILTIN.catalogue,
      plans: new Map([...BUILTIN.catalogue.plans].map(([name, plan]) => [name, {
        ...plan,
        resourceQuota: undefined,
        limitRange: undefined,
        network: { ...plan.network, isolation: false },
      }])),
    },
  };
  const seed = decide(newTenant(), {}, { now: NOW, context: seedSet });
  assert.deepEqual(
    actionStages(seed.actions).map((stage) => stage.map((action) => action.kind)),
    [["addFinalizer"], ["create"]],
    "the finalizer with the claim, then the namespace",
  );
  assert.deepEqual(actionStages([]), []);
});
