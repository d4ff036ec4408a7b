// The mesh objects without a server: PeerAuthentication kleff-mtls and Sidecar kleff-egress from
// the plan and the platform settings, restored when weakened or planted, STRICT and platform-only
// under lockdown, named when not served, pruned and disowned like the other guard rails.
import assert from "node:assert/strict";
import { TENANT_UID_ANNOTATION } from "../../../lib/api/mod.ts";
import type { ResourceDescriptor } from "../../../lib/client/mod.ts";
import { validateCatalogue } from "../../../lib/plans/mod.ts";
import {
  type Action,
  decide,
  type Decision,
  type ObservedKind,
  type PlanContext,
  sidecarEgressHosts,
} from "../../../lib/reconcile/mod.ts";
import { NAMESPACE_ONLY, ownedTenant, tenantNamespace } from "./support.ts";

type Json = Record<string, unknown>;
const NOW = new Date("2025-01-01T00:00:00Z");
const PEER_AUTHENTICATION: ResourceDescriptor = {
  group: "security.istio.io",
  version: "v1",
  plural: "peerauthentications",
  kind: "PeerAuthentication",
  namespaced: true,
};
const SIDECAR: ResourceDescriptor = {
  group: "networking.istio.io",
  version: "v1beta1",
  plural: "sidecars",
  kind: "Sidecar",
  namespaced: true,
};
const GATEWAY: ResourceDescriptor = {
  group: "networking.istio.io",
  version: "v1",
  plural: "gateways",
  kind: "Gateway",
  namespaced: true,
};
/** Plans without quota, limits or isolation, so that only the mesh objects are written. */
const MESH: PlanContext = {
  ...NAMESPACE_ONLY,
  catalogue: validateCatalogue({
    plans: {
      basic: { network: { isolation: false } },
      open: {
        network: { isolation: false },
        mesh: { mtls: "PERMISSIVE", egressHosts: ["shared/*", "istio-system/*"] },
      },
    },
  }, "test"),
  integrations: { peerAuthentication: PEER_AUTHENTICATION, sidecar: SIDECAR, constraints: {} },
  ingressNamespace: "edge",
  meshEgressNamespaces: ["monitoring"],
};

function tenant(plan = "basic", extra: Json = {}): Json {
  return ownedTenant({ spec: { plan }, metadata: extra });
}

function namespace(plan = "basic"): Json {
  return tenantNamespace({ plan, level: "restricted" });
}

/** The objects the create actions of `decision` make, as the server would store them. */
function stored(decision: Decision): ObservedKind[] {
  const kinds = new Map<string, ObservedKind>();
  let n = 0;
  for (const action of decision.actions) {
    if (action.kind !== "create") continue;
    const object = structuredClone(action.object) as Json;
    Object.assign(object.metadata as Json, { uid: `uid-${++n}`, resourceVersion: `${100 + n}` });
    const key = action.resource.plural;
    if (!kinds.has(key)) kinds.set(key, { resource: action.resource, items: [] });
    kinds.get(key)!.items.push(object);
  }
  return [...kinds.values()];
}

function item(objects: ObservedKind[], kind: string): Json {
  return objects.find((observed) => observed.resource.kind === kind)!.items[0] as Json;
}

const described = (actions: Action[]) =>
  actions.map((action) =>
    `${action.kind} ${action.resource.kind}${"name" in action ? ` ${action.name}` : ""}`
  );

function patchOf(decision: Decision, kind: string): Json {
  const action = decision.actions.find((candidate) => candidate.resource.kind === kind);
  assert.equal(action?.kind, "patch", `${kind} patched`);
  return (action as Extract<Action, { kind: "patch" }>).patch as Json;
}

function policies(decision: Decision) {
  return decision.status.conditions?.find((condition) => condition.type === "PoliciesReady");
}

Deno.test("Sidecar hosts: own namespace, ingress, istio-system, flag namespaces, plan hosts, once each", () => {
  const mesh = { mtls: "STRICT" as const, egressHosts: ["shared/*", "edge/*", "./api.x.io"] };
  assert.deepEqual(
    sidecarEgressHosts({ ingressNamespace: "edge", platformNamespaces: ["monitoring"], mesh }),
    ["./*", "edge/*", "istio-system/*", "monitoring/*", "shared/*", "./api.x.io"],
  );
  assert.deepEqual(
    sidecarEgressHosts({
      ingressNamespace: "istio-system",
      platformNamespaces: [],
      mesh: { mtls: "STRICT", egressHosts: [] },
    }),
    ["./*", "istio-system/*"],
  );
});

Deno.test("a new tenant gets STRICT mTLS and a scoped Sidecar; PERMISSIVE and plan hosts on request", () => {
  const first = decide(tenant(), { namespace: namespace() }, { now: NOW, context: MESH });
  assert.deepEqual(described(first.actions), ["create PeerAuthentication", "create Sidecar"]);
  const objects = stored(first);
  const mtls = item(objects, "PeerAuthentication");
  assert.equal(mtls.apiVersion, "security.istio.io/v1");
  assert.deepEqual(mtls.metadata, {
    name: "kleff-mtls",
    namespace: "ns-t",
    labels: { "app.kubernetes.io/managed-by": "kleff-tenant-operator", "kleff.io/tenant": "t" },
    annotations: { [TENANT_UID_ANNOTATION]: "uid-t" },
    uid: "uid-1",
    resourceVersion: "101",
  });
  assert.deepEqual(mtls.spec, { mtls: { mode: "STRICT" } });
  const sidecar = item(objects, "Sidecar");
  assert.equal(sidecar.apiVersion, "networking.istio.io/v1beta1", "the version served");
  assert.equal((sidecar.metadata as Json).name, "kleff-egress");
  assert.deepEqual(sidecar.spec, {
    egress: [{ hosts: ["./*", "edge/*", "istio-system/*", "monitoring/*"] }],
  });
  assert.equal(policies(first)?.reason, "NotInstalled", "Gateway and AuthorizationPolicy are not");
  assert.match(
    policies(first)?.message ?? "",
    /^PeerAuthentication kleff-mtls \(STRICT\), Sidecar kleff-egress in place; not installed/,
  );
  const again = decide(tenant(), { namespace: namespace(), objects }, { now: NOW, context: MESH });
  assert.deepEqual(again.actions, [], "a fixed point");

  const open = decide(tenant("open"), { namespace: namespace("open"), objects }, {
    now: NOW,
    context: MESH,
  });
  assert.deepEqual(described(open.actions), [
    "patch PeerAuthentication kleff-mtls",
    "patch Sidecar kleff-egress",
  ]);
  assert.deepEqual(patchOf(open, "PeerAuthentication").spec, { mtls: { mode: "PERMISSIVE" } });
  assert.deepEqual(patchOf(open, "Sidecar").spec, {
    egress: [{ hosts: ["./*", "edge/*", "istio-system/*", "monitoring/*", "shared/*"] }],
  });
  assert.match(policies(open)?.message ?? "", /PeerAuthentication kleff-mtls \(PERMISSIVE\)/);
});

Deno.test("weakened mesh objects are put back: selectors, port exceptions, listeners removed", () => {
  const objects = stored(decide(tenant(), { namespace: namespace() }, { now: NOW, context: MESH }));
  const mtls = item(objects, "PeerAuthentication");
  mtls.spec = {
    mtls: { mode: "DISABLE" },
    selector: { matchLabels: { app: "nothing" } },
    portLevelMtls: { "8080": { mode: "DISABLE" } },
  };
  const sidecar = item(objects, "Sidecar");
  sidecar.spec = {
    egress: [{ hosts: ["*/*"] }],
    workloadSelector: { labels: { app: "nothing" } },
    outboundTrafficPolicy: { mode: "ALLOW_ANY" },
    ingress: [{ port: { number: 9080, protocol: "HTTP", name: "http" } }],
  };
  const decision = decide(tenant(), { namespace: namespace(), objects }, {
    now: NOW,
    context: MESH,
  });
  assert.deepEqual(described(decision.actions), [
    "patch PeerAuthentication kleff-mtls",
    "patch Sidecar kleff-egress",
  ]);
  assert.deepEqual(patchOf(decision, "PeerAuthentication"), {
    metadata: { resourceVersion: "101" },
    spec: { mtls: { mode: "STRICT" }, selector: null, portLevelMtls: null },
  });
  assert.deepEqual(patchOf(decision, "Sidecar").spec, {
    egress: [{ hosts: ["./*", "edge/*", "istio-system/*", "monitoring/*"] }],
    workloadSelector: null,
    ingress: null,
    outboundTrafficPolicy: null,
  });
  assert.ok(
    decision.events.some((event) =>
      event.message.includes("restored PeerAuthentication kleff-mtls")
    ),
  );
});

Deno.test("mesh objects planted first under our names by a tenant admin are taken back", () => {
  const planted: ObservedKind[] = [
    {
      resource: PEER_AUTHENTICATION,
      items: [{
        metadata: { name: "kleff-mtls", namespace: "ns-t", uid: "p1", resourceVersion: "3" },
        spec: { mtls: { mode: "PERMISSIVE" } },
      }],
    },
    {
      resource: SIDECAR,
      items: [{
        metadata: { name: "kleff-egress", namespace: "ns-t", uid: "p2", resourceVersion: "4" },
        spec: { egress: [{ hosts: ["*/*"] }] },
      }],
    },
  ];
  const decision = decide(tenant(), { namespace: namespace(), objects: planted }, {
    now: NOW,
    context: MESH,
  });
  const mtls = patchOf(decision, "PeerAuthentication");
  assert.deepEqual((mtls.metadata as Json).annotations, { [TENANT_UID_ANNOTATION]: "uid-t" });
  assert.deepEqual(mtls.spec, { mtls: { mode: "STRICT" } });
  assert.ok(patchOf(decision, "Sidecar").spec);
  assert.equal(policies(decision)?.status, "True");
  assert.ok(
    decision.events.some((event) => /took back Sidecar kleff-egress/.test(event.message)),
  );
});

Deno.test("an unknown plan: STRICT and platform namespaces only, the Gateway kept, nothing pruned", () => {
  const context: PlanContext = {
    ...MESH,
    integrations: { ...MESH.integrations, gateway: GATEWAY },
  };
  const objects = stored(
    decide(tenant("open"), { namespace: namespace("open") }, { now: NOW, context }),
  );
  objects.find((kind) => kind.resource.kind === "PeerAuthentication")!.items.push({
    metadata: {
      name: "kleff-old",
      namespace: "ns-t",
      uid: "old",
      labels: { "app.kubernetes.io/managed-by": "kleff-tenant-operator", "kleff.io/tenant": "t" },
      annotations: { [TENANT_UID_ANNOTATION]: "uid-t" },
    },
  });
  const decision = decide(tenant("gold"), { namespace: namespace("gold"), objects }, {
    now: NOW,
    context,
  });
  assert.deepEqual(described(decision.actions), [
    "create ResourceQuota",
    "create NetworkPolicy",
    "patch PeerAuthentication kleff-mtls",
    "patch Sidecar kleff-egress",
  ]);
  assert.deepEqual(patchOf(decision, "PeerAuthentication").spec, { mtls: { mode: "STRICT" } });
  assert.deepEqual(patchOf(decision, "Sidecar").spec, {
    egress: [{ hosts: ["./*", "edge/*", "istio-system/*", "monitoring/*"] }],
  });
  assert.equal(policies(decision)?.reason, "UnknownPlan");
  assert.match(
    policies(decision)?.message ?? "",
    /PeerAuthentication kleff-mtls \(STRICT\), Sidecar kleff-egress at their defaults; every other policy object is kept/,
  );
});

Deno.test("mesh kinds not served are named in NotInstalled; objects of ours no longer wanted are pruned", () => {
  const onlyMtls: PlanContext = {
    ...MESH,
    integrations: { peerAuthentication: PEER_AUTHENTICATION, constraints: {} },
  };
  const decision = decide(tenant(), { namespace: namespace() }, { now: NOW, context: onlyMtls });
  assert.deepEqual(described(decision.actions), ["create PeerAuthentication"]);
  assert.equal(policies(decision)?.reason, "NotInstalled");
  assert.equal(
    policies(decision)?.message,
    "PeerAuthentication kleff-mtls (STRICT) in place; not installed in the cluster, so not " +
      "enforced: networking.istio.io Gateway, security.istio.io AuthorizationPolicy, " +
      "networking.istio.io Sidecar",
  );
  const objects = stored(decide(tenant(), { namespace: namespace() }, { now: NOW, context: MESH }));
  const sidecars = objects.find((kind) => kind.resource.kind === "Sidecar")!;
  sidecars.items.push({
    metadata: {
      name: "kleff-stale",
      namespace: "ns-t",
      uid: "s",
      resourceVersion: "7",
      labels: { "app.kubernetes.io/managed-by": "kleff-tenant-operator", "kleff.io/tenant": "t" },
      annotations: { [TENANT_UID_ANNOTATION]: "uid-t" },
    },
  }, {
    metadata: { name: "default", namespace: "ns-t", uid: "d", resourceVersion: "8" },
    spec: { egress: [{ hosts: ["*/*"] }] },
  });
  const pruned = decide(tenant(), { namespace: namespace(), objects }, {
    now: NOW,
    context: MESH,
  });
  assert.deepEqual(described(pruned.actions), ["delete Sidecar kleff-stale"]);
});

Deno.test("Retain disowns the mesh objects and keeps them in force", () => {
  const objects = stored(decide(tenant(), { namespace: namespace() }, { now: NOW, context: MESH }));
  const deleting = tenant("basic", { deletionTimestamp: "2025-01-01T00:00:00Z" });
  (deleting.spec as Json).deletionPolicy = "Retain";
  const decision = decide(deleting, { namespace: namespace(), objects }, {
    now: NOW,
    context: MESH,
  });
  assert.deepEqual(described(decision.actions), [
    "patch PeerAuthentication kleff-mtls",
    "patch Sidecar kleff-egress",
    "patch Namespace ns-t",
    "removeFinalizer Tenant t",
  ]);
  for (const kind of ["PeerAuthentication", "Sidecar"]) {
    const patch = patchOf(decision, kind);
    assert.equal(patch.spec, undefined, `${kind}: spec untouched, still in force`);
    const metadata = patch.metadata as Json;
    assert.equal((metadata.labels as Json)["kleff.io/orphaned"], "true");
    assert.equal((metadata.annotations as Json)[TENANT_UID_ANNOTATION], null);
  }
});
