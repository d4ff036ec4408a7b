// Plan contexts shared by the reconcile tests: the built-in catalogue, a namespace-only one whose
// plans ask for no objects (so namespace tests see only namespace writes), one with every
// integration; and a ready tenant, made by running decisions against an in-memory world.
import {
  type ResourceDescriptor,
  TENANT_FINALIZER,
  TENANT_UID_ANNOTATION,
} from "../../../lib/api/mod.ts";
import { builtinCatalogue, validateCatalogue } from "../../../lib/plans/mod.ts";
import {
  decide,
  type Decision,
  type Integrations,
  NO_INTEGRATIONS,
  type ObservedKind,
  type PlanContext,
} from "../../../lib/reconcile/mod.ts";

/** Untyped JSON objects, as the API server sends them. */
export type Json = Record<string, unknown>;

/** Plans `basic` and `pro` with Pod Security `restricted` and no per-tenant objects. */
export const NAMESPACE_ONLY: PlanContext = {
  catalogue: validateCatalogue({
    plans: { basic: { network: { isolation: false } }, pro: { network: { isolation: false } } },
  }, "test"),
  integrations: NO_INTEGRATIONS,
  ingressNamespace: "istio-system",
  gatewayHosts: ["*.{username}.apps.example.com"],
  meshEgressNamespaces: [],
  reservedNamespaces: ["kube-*", "default", "istio-system", "kleff-system"],
};

/** The built-in catalogue, without integrations. */
export const BUILTIN: PlanContext = { ...NAMESPACE_ONLY, catalogue: builtinCatalogue() };

/** Pod Security labels at `level`. */
export function podSecurityLabels(level: string): Record<string, string> {
  return Object.fromEntries(
    ["enforce", "audit", "warn"].map((mode) => [`pod-security.kubernetes.io/${mode}`, level]),
  );
}

/**
 * Tenant `t` (uid `uid-t`, user alice, plan basic) carrying the finalizer: `spec` and `metadata`
 * merged in, `status` as given (default: it created ns-t, see {@linkcode tenantNamespace}; `null`:
 * no status at all).
 */
export function ownedTenant(
  options: { spec?: Json; metadata?: Json; status?: unknown } = {},
): Json {
  const status = options.status === undefined
    ? { namespace: "ns-t", namespaceUID: "uid-ns" }
    : options.status;
  return {
    metadata: {
      name: "t",
      uid: "uid-t",
      generation: 1,
      resourceVersion: "5",
      finalizers: [TENANT_FINALIZER],
      ...options.metadata,
    },
    spec: { userId: "ns-t", username: "alice", plan: "basic", ...options.spec },
    ...(status === null ? {} : { status }),
  };
}

/**
 * Namespace ns-t as the operator made it for tenant `t` (uid `uid-t`, user alice), Active: the
 * labels of `plan` at Pod Security `level` (default baseline), and `annotations` (default: the
 * tenant's uid).
 */
export function tenantNamespace(
  options: { plan?: string; level?: string; annotations?: Record<string, string> } = {},
): Json {
  const { plan = "basic", level = "baseline" } = options;
  return {
    metadata: {
      name: "ns-t",
      uid: "uid-ns",
      resourceVersion: "9",
      labels: {
        "istio-injection": "enabled",
        "kleff.io/tenant-username": "alice",
        "kleff.io/tenant-plan": plan,
        "kleff.io/tenant": "t",
        "app.kubernetes.io/managed-by": "kleff-tenant-operator",
        ...podSecurityLabels(level),
      },
      annotations: options.annotations ?? { [TENANT_UID_ANNOTATION]: "uid-t" },
    },
    status: { phase: "Active" },
  };
}

/** The time decisions are made at in these tests. */
export const NOW = new Date("2025-01-01T00:00:00Z");
/** A Gatekeeper constraint kind. */
export const CONSTRAINT: ResourceDescriptor = {
  group: "constraints.gatekeeper.sh",
  version: "v1beta1",
  plural: "k8sallowedrepos",
  kind: "K8sAllowedRepos",
  namespaced: false,
};
/** Istio (gateway, authorization, mesh) and Gatekeeper served. */
export const INTEGRATIONS: Integrations = {
  gateway: {
    group: "networking.istio.io",
    version: "v1",
    plural: "gateways",
    kind: "Gateway",
    namespaced: true,
  },
  authorizationPolicy: {
    group: "security.istio.io",
    version: "v1",
    plural: "authorizationpolicies",
    kind: "AuthorizationPolicy",
    namespaced: true,
  },
  peerAuthentication: {
    group: "security.istio.io",
    version: "v1",
    plural: "peerauthentications",
    kind: "PeerAuthentication",
    namespaced: true,
  },
  sidecar: {
    group: "networking.istio.io",
    version: "v1",
    plural: "sidecars",
    kind: "Sidecar",
    namespaced: true,
  },
  constraints: { K8sAllowedRepos: CONSTRAINT },
};
/** The built-in catalogue with Istio and Gatekeeper. */
export const FULL: PlanContext = { ...BUILTIN, integrations: INTEGRATIONS };

/** A new Tenant `name` (default `t`: namespace `ns-t`, user `alice`), as created. */
export function newTenant(name = "t", username = "alice"): Json {
  return {
    metadata: { name, uid: `uid-${name}`, generation: 1, resourceVersion: "5" },
    spec: { userId: `ns-${name}`, username, plan: "basic" },
  };
}

/** What the cluster holds once a reconcile of a new tenant succeeded: Tenant, namespace, objects. */
export interface World {
  tenant: Json;
  namespace: Json;
  objects: ObservedKind[];
}

/**
 * Runs decisions against an in-memory world until nothing is left to do, as the executor would
 * (creates get uids and versions, the namespace's uid is recorded, status is written).
 */
export function ready(context: PlanContext, tenant: Json = newTenant()): World {
  let world: World = { tenant, namespace: {}, objects: [] };
  let n = 0;
  for (let round = 0; round < 5; round++) {
    const namespace = Object.keys(world.namespace).length ? world.namespace : undefined;
    const decision = decide(world.tenant, { namespace, objects: world.objects }, {
      now: NOW,
      context,
    });
    if (decision.actions.length === 0 && !decision.writeStatus) return world;
    world = apply(world, decision, () => `${++n}`);
  }
  throw new Error("no fixed point");
}

function apply(world: World, decision: Decision, next: () => string): World {
  const tenant = structuredClone(world.tenant);
  const metadata = tenant.metadata as Json;
  let namespace = structuredClone(world.namespace);
  const objects = structuredClone(world.objects);
  let status = decision.status as Json;
  for (const action of decision.actions) {
    if (action.kind === "addFinalizer") metadata.finalizers = [TENANT_FINALIZER];
    else if (action.kind === "create" && action.resource.kind === "Namespace") {
      namespace = structuredClone(action.object) as Json;
      const uid = `uid-${(namespace.metadata as Json).name}`;
      Object.assign(namespace.metadata as Json, { uid, resourceVersion: next() });
      status = { ...status, namespaceUID: uid };
    } else if (action.kind === "create") {
      const object = structuredClone(action.object) as Json;
      Object.assign(object.metadata as Json, { uid: `uid-${next()}`, resourceVersion: next() });
      let kind = objects.find((item) => item.resource.plural === action.resource.plural);
      if (!kind) objects.push(kind = { resource: action.resource, items: [] });
      kind.items.push(object);
    }
  }
  tenant.status = status;
  metadata.resourceVersion = next();
  return { tenant, namespace, objects };
}
