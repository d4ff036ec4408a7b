// Per-plan decisions without a server: plan to objects, diff to actions (create, restore, prune,
// conflicts), unknown plan, NotInstalled, observations, teardown of constraints, Retain.
import assert from "node:assert/strict";
import {
  type Action,
  decide,
  decideFailure,
  type Decision,
  observations,
  type ObservedKind,
  type PlanContext,
} from "../../../lib/reconcile/mod.ts";
import { TENANT_UID_ANNOTATION } from "../../../lib/api/mod.ts";
import {
  BUILTIN,
  CONSTRAINT,
  FULL,
  ownedTenant,
  podSecurityLabels,
  tenantNamespace,
} from "./support.ts";

type Json = Record<string, unknown>;
const NOW = new Date("2025-01-01T00:00:00Z");

/** The status of a tenant that created namespace ns-t (see `ourNamespace`). */
const OWNS_NS_T = { namespace: "ns-t", namespaceUID: "uid-ns" };

function tenant(spec: Json = {}, metadata: Json = {}, status: Json = OWNS_NS_T): Json {
  return ownedTenant({ spec, metadata, status });
}

function ourNamespace(plan = "basic", level = "baseline"): Json {
  return tenantNamespace({ plan, level });
}

/** The objects the create actions of `decision` make, as the server would store them. */
function stored(decision: Decision): ObservedKind[] {
  const kinds = new Map<string, ObservedKind>();
  let n = 0;
  for (const action of decision.actions) {
    if (action.kind !== "create" || action.resource.kind === "Namespace") continue;
    const object = structuredClone(action.object) as Json;
    Object.assign(object.metadata as Json, { uid: `uid-${++n}`, resourceVersion: `${100 + n}` });
    const key = action.resource.plural;
    if (!kinds.has(key)) kinds.set(key, { resource: action.resource, items: [] });
    kinds.get(key)!.items.push(object);
  }
  return [...kinds.values()];
}

const kinds = (actions: Action[]) =>
  actions.map((action) =>
    `${action.kind} ${action.resource.kind}${"name" in action ? ` ${action.name}` : ""}`
  );

function condition(decision: Decision, type: string) {
  return decision.status.conditions?.find((item) => item.type === type);
}

Deno.test("a new tenant: every object created once in one decision, then a fixed point", () => {
  const first = decide(tenant({}, { finalizers: [] }, {}), {}, { now: NOW, context: FULL });
  assert.deepEqual(first.actions.map((action) => `${action.kind} ${action.resource.kind}`), [
    "addFinalizer Tenant",
    "create Namespace",
    "create ResourceQuota",
    "create LimitRange",
    "create NetworkPolicy",
    "create Gateway",
    "create AuthorizationPolicy",
    "create PeerAuthentication",
    "create Sidecar",
    "create K8sAllowedRepos",
  ]);
  assert.deepEqual(first.events.map((event) => event.reason), [
    "NamespaceCreated",
    "ResourcesSynced",
    "PoliciesSynced",
    "Ready",
  ]);
  const namespaceCreate = first.actions[1] as Extract<Action, { kind: "create" }>;
  assert.equal(
    namespaceCreate.object.metadata?.labels?.["pod-security.kubernetes.io/enforce"],
    "baseline",
  );
  const objects = stored(first);
  // The API server normalises quantities: "1" may come back as "1000m" and must not cause a write.
  const quota = objects.find((kind) => kind.resource.kind === "ResourceQuota")!.items[0] as Json;
  (quota.spec as Json).hard = {
    ...(quota.spec as Json).hard as Json,
    "requests.cpu": "1000m",
    "limits.memory": "4096Mi",
  };
  // The executor records the created namespace's uid in the status it writes.
  const again = decide({ ...tenant(), status: { ...first.status, namespaceUID: "uid-ns" } }, {
    namespace: ourNamespace(),
    objects,
  }, { now: NOW, context: FULL });
  assert.deepEqual(again.actions, []);
  assert.deepEqual(again.events, []);
  assert.equal(again.writeStatus, false);
  assert.equal(condition(again, "PoliciesReady")?.reason, "PoliciesApplied");
});

Deno.test("drift is restored with a patch replacing only the owned fields, locked to the resourceVersion", () => {
  const first = decide(tenant(), { namespace: ourNamespace() }, { now: NOW, context: BUILTIN });
  const objects = stored(first);
  const quota = objects.find((kind) => kind.resource.kind === "ResourceQuota")!.items[0] as Json;
  quota.spec = {
    hard: { ...(quota.spec as Json).hard as Json, pods: "999", "count/secrets": "1" },
    scopes: ["x"],
  };
  (quota.metadata as Json).labels = { team: "mine" };
  const decision = decide(tenant(), { namespace: ourNamespace(), objects }, {
    now: NOW,
    context: BUILTIN,
  });
  assert.deepEqual(kinds(decision.actions), ["patch ResourceQuota kleff-quota"]);
  const patch = (decision.actions[0] as Extract<Action, { kind: "patch" }>).patch as Json;
  assert.deepEqual(patch.metadata, {
    resourceVersion: (quota.metadata as Json).resourceVersion,
    labels: { "app.kubernetes.io/managed-by": "kleff-tenant-operator", "kleff.io/tenant": "t" },
  });
  const hard = (patch.spec as Json).hard as Json;
  assert.equal(hard.pods, "20");
  assert.equal(hard["count/secrets"], null, "keys we did not ask for are removed");
  assert.equal((patch.spec as Json).scopes, null, "scopes would narrow the quota: removed");
});

Deno.test("an object with our name in the tenant's namespace is ours whoever made it: taken back", () => {
  const planted = {
    metadata: {
      name: "kleff-quota",
      namespace: "ns-t",
      uid: "x",
      resourceVersion: "1",
      labels: { team: "mine" },
    },
    spec: { hard: { pods: "1000" }, scopeSelector: { matchExpressions: [] } },
  };
  const objects: ObservedKind[] = [{
    resource:
      stored(decide(tenant(), { namespace: ourNamespace() }, { now: NOW, context: BUILTIN }))[0]
        .resource,
    items: [planted],
  }];
  const decision = decide(tenant(), { namespace: ourNamespace(), objects }, {
    now: NOW,
    context: BUILTIN,
  });
  const patch = decision.actions.find((action) => action.resource.kind === "ResourceQuota");
  assert.equal(patch?.kind, "patch");
  const body = (patch as Extract<Action, { kind: "patch" }>).patch as Json;
  assert.deepEqual(body.metadata, {
    resourceVersion: "1",
    labels: { "app.kubernetes.io/managed-by": "kleff-tenant-operator", "kleff.io/tenant": "t" },
    annotations: { [TENANT_UID_ANNOTATION]: "uid-t" },
  });
  assert.equal(((body.spec as Json).hard as Json).pods, "20");
  assert.equal((body.spec as Json).scopeSelector, null);
  assert.equal(condition(decision, "ResourcesReady")?.status, "True");
  assert.ok(
    decision.events.some((event) =>
      /took back ResourceQuota kleff-quota \(it lacked this tenant's kleff.io\/tenant-uid annotation\)/
        .test(event.message)
    ),
  );
});

Deno.test("a cluster-scoped constraint with our name but not ours is a conflict, never touched", () => {
  const foreign = {
    metadata: { name: "kleff-ns-t-k8sallowedrepos", uid: "x", resourceVersion: "1" },
    spec: { match: { namespaces: ["ns-t"] } },
  };
  const decision = decide(tenant(), {
    namespace: ourNamespace(),
    objects: [{ resource: CONSTRAINT, items: [foreign] }],
  }, { now: NOW, context: FULL });
  assert.ok(!decision.actions.some((action) => action.resource.kind === "K8sAllowedRepos"));
  const policies = condition(decision, "PoliciesReady");
  assert.equal(policies?.reason, "ObjectConflict");
  assert.match(
    policies?.message ?? "",
    /K8sAllowedRepos kleff-ns-t-k8sallowedrepos exists without the kleff\.io\/tenant-uid annotation/,
  );
});

Deno.test("objects the plan no longer asks for are deleted with preconditions; unowned ones are kept", () => {
  const basic = decide(tenant(), { namespace: ourNamespace() }, { now: NOW, context: FULL });
  const objects = stored(basic);
  objects.find((kind) => kind.resource.kind === "NetworkPolicy")!.items.push({
    metadata: {
      name: "kleff-copy",
      namespace: "ns-t",
      uid: "u",
      labels: { team: "x" },
      annotations: { [TENANT_UID_ANNOTATION]: "uid-t" },
    },
  });
  const pro = decide(tenant({ plan: "pro" }), { namespace: ourNamespace(), objects }, {
    now: NOW,
    context: FULL,
  });
  const deletes = pro.actions.filter((action) => action.kind === "delete");
  assert.deepEqual(kinds(deletes), ["delete K8sAllowedRepos kleff-ns-t-k8sallowedrepos"]);
  assert.deepEqual((deletes[0] as Extract<Action, { kind: "delete" }>).preconditions, {
    uid: "uid-8",
    resourceVersion: "108",
  });
  assert.ok(
    kinds(pro.actions).includes("patch ResourceQuota kleff-quota"),
    "quota updated in place",
  );
  assert.ok(
    !kinds(pro.actions).some((text) => text.includes("Gateway")),
    "same HTTPS setting: untouched",
  );
  assert.ok(
    !kinds(pro.actions).some((text) => text.includes("kleff-copy")),
    "a copy of ours is never pruned",
  );
});

Deno.test("an unknown plan fails closed: lockdown quota, restricted Pod Security, nothing removed", () => {
  const objects = stored(
    decide(tenant(), { namespace: ourNamespace() }, { now: NOW, context: FULL }),
  );
  const decision = decide(tenant({ plan: "gold" }), { namespace: ourNamespace("gold"), objects }, {
    now: NOW,
    context: FULL,
  });
  assert.deepEqual(kinds(decision.actions), [
    "patch Namespace ns-t",
    "patch ResourceQuota kleff-quota",
    "patch NetworkPolicy kleff-isolation",
  ]);
  const quotaPatch = (decision.actions[1] as Extract<Action, { kind: "patch" }>).patch as Json;
  assert.deepEqual((quotaPatch.spec as Json).hard, {
    pods: "0",
    "requests.cpu": "0",
    "requests.memory": "0",
    "limits.cpu": "0",
    "limits.memory": "0",
    "services.loadbalancers": "0",
    "services.nodeports": "0",
    persistentvolumeclaims: "0",
    "requests.storage": "0",
  });
  const isolation = (decision.actions[2] as Extract<Action, { kind: "patch" }>).patch as Json;
  assert.equal(((isolation.spec as Json).egress as Json[]).length, 2, "no internet egress");
  const nsPatch = (decision.actions[0] as Extract<Action, { kind: "patch" }>).patch as Json;
  assert.deepEqual((nsPatch.metadata as Json).labels, podSecurityLabels("restricted"));
  assert.equal(condition(decision, "ResourcesReady")?.reason, "UnknownPlan");
  assert.equal(condition(decision, "PoliciesReady")?.reason, "UnknownPlan");
  assert.ok(
    decision.events.some((event) => event.type === "Warning" && event.reason === "UnknownPlan"),
  );
});

Deno.test("integrations not served: PoliciesReady True NotInstalled naming them; the NetworkPolicy shape", () => {
  const decision = decide(tenant(), { namespace: ourNamespace() }, { now: NOW, context: BUILTIN });
  const policies = condition(decision, "PoliciesReady");
  assert.equal(policies?.status, "True");
  assert.equal(policies?.reason, "NotInstalled");
  assert.match(
    policies?.message ?? "",
    /NetworkPolicy kleff-isolation in place; not installed.*Gateway.*AuthorizationPolicy.*K8sAllowedRepos/,
  );
  const create = decision.actions.find((action) =>
    action.resource.kind === "NetworkPolicy"
  ) as Extract<Action, { kind: "create" }>;
  const egress = (create.object.spec as Json).egress as Json[];
  assert.deepEqual(egress[1], {
    to: [{ podSelector: {} }, {
      namespaceSelector: {
        matchExpressions: [{
          key: "app.kubernetes.io/managed-by",
          operator: "NotIn",
          values: ["kleff-tenant-operator"],
        }],
      },
    }],
  });
  assert.deepEqual(egress[2], {
    to: [
      {
        ipBlock: {
          cidr: "0.0.0.0/0",
          except: [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "100.64.0.0/10",
            "169.254.0.0/16",
          ],
        },
      },
      { ipBlock: { cidr: "::/0", except: ["fc00::/7", "fe80::/10"] } },
    ],
  });
});

Deno.test("observations: namespace objects only when it is ours, constraints by tenant label", () => {
  const lists = (raw: Json, namespace?: Json) =>
    observations(raw, namespace, FULL).map((item) =>
      `${item.resource.plural}${item.namespace ? ` in ${item.namespace}` : ""}${
        item.labelSelector ? ` ${item.labelSelector}` : ""
      }`
    );
  assert.deepEqual(lists(tenant()), ["k8sallowedrepos kleff.io/tenant=t"]);
  assert.deepEqual(lists(tenant(), ourNamespace()), [
    "k8sallowedrepos kleff.io/tenant=t",
    "resourcequotas in ns-t",
    "limitranges in ns-t",
    "networkpolicies in ns-t",
    "gateways in ns-t",
    "authorizationpolicies in ns-t",
    "peerauthentications in ns-t",
    "sidecars in ns-t",
  ]);
  const foreign = { metadata: { name: "ns-t", uid: "x" } };
  assert.deepEqual(lists(tenant(), foreign), [], "a conflicting namespace: nothing is decided");
  const terminating = { ...ourNamespace(), status: { phase: "Terminating" } };
  assert.deepEqual(lists(tenant(), terminating), [], "a terminating namespace: nothing either");
  assert.deepEqual(
    lists(tenant({}, { deletionTimestamp: "2025-01-01T00:00:00Z" }), foreign),
    ["k8sallowedrepos kleff.io/tenant=t"],
    "teardown still looks for constraints",
  );
  assert.deepEqual(
    observations(tenant(), undefined, FULL).map((item) => item.fieldSelector),
    ["metadata.name=kleff-ns-t-k8sallowedrepos"],
    "a constraint is listed by its one name, not cluster-wide",
  );
  const deleting = tenant({}, { deletionTimestamp: "2025-01-01T00:00:00Z" });
  assert.deepEqual(lists(deleting, ourNamespace()), ["k8sallowedrepos kleff.io/tenant=t"]);
  assert.equal(
    lists(tenant({ deletionPolicy: "Retain" }, { deletionTimestamp: "x" }), ourNamespace()).length,
    8,
  );
});

Deno.test("constraints of a kind dropped from the catalogue but still served are listed, pruned and torn down", () => {
  const objects = stored(
    decide(tenant(), { namespace: ourNamespace() }, { now: NOW, context: FULL }),
  );
  const basic = FULL.catalogue.plans.get("basic")!;
  const dropped: PlanContext = {
    ...FULL,
    catalogue: {
      plans: new Map([["basic", { ...basic, allowedRegistries: [], constraints: [] }]]),
    },
  };
  assert.ok(
    observations(tenant(), ourNamespace(), dropped).some((item) =>
      item.resource.kind === "K8sAllowedRepos" &&
      item.fieldSelector === "metadata.name=kleff-ns-t-k8sallowedrepos"
    ),
    "the constraint is still observed",
  );
  const pruned = decide(tenant(), { namespace: ourNamespace(), objects }, {
    now: NOW,
    context: dropped,
  });
  assert.deepEqual(
    kinds(pruned.actions),
    ["delete K8sAllowedRepos kleff-ns-t-k8sallowedrepos"],
  );
  const deleting = tenant({}, { deletionTimestamp: "2025-01-01T00:00:00Z" });
  const constraints = objects.filter((kind) => !kind.resource.namespaced);
  assert.deepEqual(
    observations(deleting, undefined, dropped).map((item) => item.resource.kind),
    ["K8sAllowedRepos"],
  );
  const torn = decide(deleting, { objects: constraints }, { now: NOW, context: dropped });
  assert.deepEqual(kinds(torn.actions), ["delete K8sAllowedRepos kleff-ns-t-k8sallowedrepos"]);
});

Deno.test("teardown deletes cluster-scoped constraints with the namespace and waits for both", () => {
  const objects = stored(
    decide(tenant(), { namespace: ourNamespace() }, { now: NOW, context: FULL }),
  )
    .filter((kind) => !kind.resource.namespaced);
  const deleting = tenant({}, { deletionTimestamp: "2025-01-01T00:00:00Z" });
  const first = decide(deleting, { namespace: ourNamespace(), objects }, {
    now: NOW,
    context: FULL,
  });
  assert.deepEqual(kinds(first.actions), [
    "delete K8sAllowedRepos kleff-ns-t-k8sallowedrepos",
    "delete Namespace ns-t",
  ]);
  const gone = decide(deleting, { objects }, { now: NOW, context: FULL });
  assert.deepEqual(
    kinds(gone.actions),
    ["delete K8sAllowedRepos kleff-ns-t-k8sallowedrepos"],
    "namespace gone, constraint left",
  );
  const done = decide(deleting, { objects: [] }, { now: NOW, context: FULL });
  assert.deepEqual(kinds(done.actions), ["removeFinalizer Tenant t"]);
});

Deno.test("Retain disowns the namespace and every object of ours, then lets the tenant go", () => {
  const objects = stored(
    decide(tenant(), { namespace: ourNamespace() }, { now: NOW, context: FULL }),
  );
  const deleting = tenant({ deletionPolicy: "Retain" }, {
    deletionTimestamp: "2025-01-01T00:00:00Z",
  });
  const decision = decide(deleting, { namespace: ourNamespace(), objects }, {
    now: NOW,
    context: FULL,
  });
  assert.equal(decision.actions.length, 10);
  assert.equal(decision.actions.at(-1)?.kind, "removeFinalizer");
  for (const action of decision.actions.slice(0, -1)) {
    assert.equal(action.kind, "patch");
    const metadata = (action as Extract<Action, { kind: "patch" }>).patch.metadata as Json;
    assert.equal((metadata.annotations as Json)[TENANT_UID_ANNOTATION], null);
    assert.equal((metadata.labels as Json)["kleff.io/orphaned"], "true");
  }
});

Deno.test("AlreadyExists on a constraint create is an ObjectConflict on PoliciesReady", () => {
  const first = decide(tenant(), { namespace: ourNamespace() }, { now: NOW, context: FULL });
  const during = first.actions.find((action) => action.resource.kind === "K8sAllowedRepos")!;
  const failed = decideFailure({ ...tenant(), status: first.status }, {
    code: 409,
    reason: "AlreadyExists",
    message: "exists",
    during,
  }, { now: NOW });
  assert.equal(condition(failed, "PoliciesReady")?.reason, "ObjectConflict");
  assert.equal(condition(failed, "TenantReady")?.reason, "ObjectConflict");
  assert.deepEqual(failed.requeue, { kind: "backoff" });
  const quotaFailure = decideFailure({ ...tenant(), status: first.status }, {
    code: 500,
    reason: "InternalError",
    message: "boom",
    during: first.actions.find((action) => action.resource.kind === "ResourceQuota")!,
  }, { now: NOW });
  assert.equal(condition(quotaFailure, "ResourcesReady")?.reason, "ApiError");
  const planted = decideFailure({ ...tenant(), status: first.status }, {
    code: 409,
    reason: "AlreadyExists",
    message: "exists",
    during: first.actions.find((action) => action.resource.kind === "NetworkPolicy")!,
  }, { now: NOW });
  assert.deepEqual(planted.requeue, { kind: "retry" }, "in its namespace: taken back next time");
  assert.deepEqual(planted.events, []);
});

Deno.test("a tenant on an unknown plan from the start gets the lockdown quota and isolation", () => {
  const decision = decide(tenant({ plan: "gold" }), {
    namespace: ourNamespace("gold", "restricted"),
  }, {
    now: NOW,
    context: FULL,
  });
  assert.deepEqual(kinds(decision.actions), [
    "create ResourceQuota",
    "create NetworkPolicy",
    "create PeerAuthentication",
    "create Sidecar",
  ]);
  const isolation = (decision.actions[1] as Extract<Action, { kind: "create" }>).object;
  assert.deepEqual((isolation.spec as Json).policyTypes, ["Ingress", "Egress"]);
  assert.equal(((isolation.spec as Json).egress as Json[]).length, 2, "no internet egress");
  const mtls = (decision.actions[2] as Extract<Action, { kind: "create" }>).object;
  assert.deepEqual(mtls.spec, { mtls: { mode: "STRICT" } });
  const sidecar = (decision.actions[3] as Extract<Action, { kind: "create" }>).object;
  assert.deepEqual(sidecar.spec, { egress: [{ hosts: ["./*", "istio-system/*"] }] });
  assert.match(
    condition(decision, "ResourcesReady")?.message ?? "",
    /no pods, no CPU or memory, no LoadBalancer or NodePort Services, no PersistentVolumeClaims and no storage/,
  );
  assert.match(
    condition(decision, "PoliciesReady")?.message ?? "",
    /without internet egress, and PeerAuthentication kleff-mtls \(STRICT\), Sidecar kleff-egress at their defaults/,
  );
});

Deno.test("gateway hosts overlapping an earlier claim: HostConflict naming it, no Gateway", () => {
  const objects = stored(
    decide(tenant(), { namespace: ourNamespace() }, { now: NOW, context: FULL }),
  );
  const claims = [{ tenant: "alice-first", hosts: ["*.alice.apps.example.com"] }];
  const decision = decide(tenant(), { namespace: ourNamespace(), objects }, {
    now: NOW,
    context: FULL,
    hostClaims: claims,
  });
  assert.deepEqual(kinds(decision.actions), ["delete Gateway kleff-gateway"]);
  const policies = condition(decision, "PoliciesReady");
  assert.equal(policies?.status, "False");
  assert.equal(policies?.reason, "HostConflict");
  assert.match(
    policies?.message ?? "",
    /host \*\.alice\.apps\.example\.com overlaps \*\.alice\.apps\.example\.com of Tenant alice-first, which claimed it first/,
  );
  const warning = decision.events.find((event) => event.reason === "HostConflict");
  assert.equal(warning?.type, "Warning");
  assert.match(warning?.message ?? "", /alice-first/);
  assert.equal(condition(decision, "TenantReady")?.reason, "HostConflict");
  const fresh = decide(tenant(), { namespace: ourNamespace() }, {
    now: NOW,
    context: FULL,
    hostClaims: claims,
  });
  assert.ok(!kinds(fresh.actions).some((text) => text.includes("Gateway")), "never created");
  const unrelated = decide(tenant(), { namespace: ourNamespace(), objects }, {
    now: NOW,
    context: FULL,
    hostClaims: [{ tenant: "bob", hosts: ["*.bob.apps.example.com"] }],
  });
  assert.deepEqual(unrelated.actions, []);
  assert.equal(condition(unrelated, "PoliciesReady")?.reason, "PoliciesApplied");
});

Deno.test("weakening fields outside the plan's (quota scopes, policy targets) are removed", () => {
  const objects = stored(
    decide(tenant(), { namespace: ourNamespace() }, { now: NOW, context: FULL }),
  );
  for (const kind of objects) {
    for (const item of kind.items as Json[]) {
      if (kind.resource.kind === "AuthorizationPolicy") {
        (item.spec as Json).targetRefs = [{ kind: "Service", name: "nothing" }];
      }
      if (kind.resource.kind === "K8sAllowedRepos") {
        (item.spec as Json).enforcementAction = "dryrun";
      }
    }
  }
  const decision = decide(tenant(), { namespace: ourNamespace(), objects }, {
    now: NOW,
    context: FULL,
  });
  assert.deepEqual(kinds(decision.actions), [
    "patch AuthorizationPolicy kleff-authz",
    "patch K8sAllowedRepos kleff-ns-t-k8sallowedrepos",
  ]);
  const specs = decision.actions.map((action) =>
    (action as Extract<Action, { kind: "patch" }>).patch.spec as Json
  );
  assert.deepEqual(specs, [{ targetRefs: null }, { enforcementAction: null }]);
});
