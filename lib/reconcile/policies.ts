// Isolation and policy objects (ARCHITECTURE.md §6): the NetworkPolicy, Istio Gateway,
// AuthorizationPolicy, PeerAuthentication and Sidecar (mesh.ts), and Gatekeeper constraints a plan
// gives, and the step reporting them as PoliciesReady (True with reason NotInstalled when an
// integration's kinds are not served).
import { networkPolicies } from "../api/mod.ts";
import type { ResourceDescriptor } from "../api/mod.ts";
import {
  ConditionType,
  EventReason,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  Reason,
} from "../api/mod.ts";
import {
  type ConstraintPlan,
  type NetworkProfile,
  type Plan,
  renderHost,
  renderHosts,
} from "../plans/mod.ts";
import type { ConditionInput } from "./conditions.ts";
import {
  GATEKEEPER_CONSTRAINTS_GROUP,
  ISTIO_NETWORKING_GROUP,
  ISTIO_SECURITY_GROUP,
  type PlanContext,
  servedKinds,
} from "./context.ts";
import {
  blockedCondition,
  describeObject,
  type DesiredObject,
  type ObservedKind,
  ownedMetadata,
  type PlanStep,
  syncedStep,
  syncObjects,
} from "./managed.ts";
import type { TenantView } from "./spec.ts";
import { firstOverlap, type HostClaim, type HostOverlap } from "./hosts.ts";
import { LOCKDOWN_MESH, meshObjects } from "./mesh.ts";

/** Name of the tenant's NetworkPolicy. */
export const NETWORK_POLICY_NAME = "kleff-isolation";
/** Name of the tenant's Istio Gateway. */
export const GATEWAY_NAME = "kleff-gateway";
/** Name of the tenant's Istio AuthorizationPolicy. */
export const AUTHORIZATION_POLICY_NAME = "kleff-authz";
/** Label selecting the Istio ingress gateway pods. */
export const INGRESS_GATEWAY_SELECTOR: Readonly<Record<string, string>> = {
  istio: "ingressgateway",
};
/** The label every namespace carries with its own name (Kubernetes ≥ 1.21). */
const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";
const MAX_NAME = 63;

/** Name of the TLS Secret (in the ingress gateway's namespace) of a tenant's HTTPS server. */
export function tlsCredentialName(namespace: string): string {
  return `kleff-${namespace}-tls`;
}

/**
 * Name of a tenant's cluster-scoped constraint of `kind`: `kleff-<namespace>-<kind>` in lower
 * case, cut and suffixed with a hash when longer than 63 characters. Named after the namespace
 * (unique per tenant), so a constraint left by `Retain` never collides with another tenant's.
 */
export function constraintName(namespace: string, kind: string): string {
  const full = `kleff-${namespace}-${kind.toLowerCase()}`;
  if (full.length <= MAX_NAME) return full;
  let hash = 0x811c9dc5;
  for (const char of full) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  const suffix = `-${hash.toString(16).padStart(8, "0")}`;
  return `${full.slice(0, MAX_NAME - suffix.length).replace(/-+$/, "")}${suffix}`;
}

/** Options of {@linkcode desiredNetworkPolicy}. */
export interface NetworkPolicyOptions {
  /** The plan's network profile. */
  network: NetworkProfile;
  /** The namespace of the Istio ingress gateway. */
  ingressNamespace: string;
}

/**
 * The NetworkPolicy in the tenant's `namespace`: ingress from its own namespace and the ingress
 * gateway's; egress to DNS (kube-dns/CoreDNS in kube-system), to its own namespace, to namespaces
 * that are not tenant namespaces, and, when the profile allows it, to any address outside the
 * cluster ranges.
 */
export function desiredNetworkPolicy(
  tenant: TenantView,
  namespace: string,
  options: NetworkPolicyOptions,
): DesiredObject {
  const { network, ingressNamespace } = options;
  const egress: Record<string, unknown>[] = [
    {
      to: [{
        namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: "kube-system" } },
        podSelector: {
          matchExpressions: [{ key: "k8s-app", operator: "In", values: ["kube-dns", "coredns"] }],
        },
      }],
      ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }],
    },
    {
      to: [
        { podSelector: {} },
        {
          namespaceSelector: {
            matchExpressions: [{
              key: MANAGED_BY_LABEL,
              operator: "NotIn",
              values: [MANAGED_BY_VALUE],
            }],
          },
        },
      ],
    },
  ];
  if (network.internetEgress) {
    const blocks: Record<string, unknown>[] = [];
    for (const [family, cidr] of [[4, "0.0.0.0/0"], [6, "::/0"]] as const) {
      const except = network.clusterCIDRs.filter((block) => block.family === family)
        .map((block) => block.text);
      blocks.push({ ipBlock: except.length === 0 ? { cidr } : { cidr, except } });
    }
    egress.push({ to: blocks });
  }
  return {
    resource: networkPolicies,
    object: {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: ownedMetadata(tenant, NETWORK_POLICY_NAME, { namespace }),
      spec: {
        podSelector: {},
        policyTypes: ["Ingress", "Egress"],
        ingress: [{
          from: [
            { podSelector: {} },
            { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: ingressNamespace } } },
          ],
        }],
        egress,
      },
    },
    specFields: ["podSelector", "policyTypes", "ingress", "egress"],
  };
}

/** Options of {@linkcode desiredGateway}. */
export interface GatewayOptions {
  /** The Istio Gateway kind as the cluster serves it. */
  resource: ResourceDescriptor;
  /** The host names served. */
  hosts: string[];
  /** Whether to serve 443 too, with a per-tenant certificate. */
  https: boolean;
}

/**
 * The Istio Gateway in the tenant's `namespace` serving `options.hosts` on 80 (and 443 with a
 * per-tenant certificate).
 */
export function desiredGateway(
  tenant: TenantView,
  namespace: string,
  options: GatewayOptions,
): DesiredObject {
  const { resource } = options;
  const servers: Record<string, unknown>[] = [
    { port: { number: 80, name: "http", protocol: "HTTP" }, hosts: options.hosts },
  ];
  if (options.https) {
    servers.push({
      port: { number: 443, name: "https", protocol: "HTTPS" },
      hosts: options.hosts,
      tls: { mode: "SIMPLE", credentialName: tlsCredentialName(namespace) },
    });
  }
  return {
    resource,
    object: {
      apiVersion: `${resource.group}/${resource.version}`,
      kind: resource.kind,
      metadata: ownedMetadata(tenant, GATEWAY_NAME, { namespace }),
      spec: { selector: { ...INGRESS_GATEWAY_SELECTOR }, servers },
    },
    specFields: ["selector", "servers"],
  };
}

/** Options of {@linkcode desiredAuthorizationPolicy}. */
export interface AuthorizationPolicyOptions {
  /** The Istio AuthorizationPolicy kind as the cluster serves it. */
  resource: ResourceDescriptor;
  /** The namespace of the Istio ingress gateway. */
  ingressNamespace: string;
}

/**
 * The AuthorizationPolicy in the tenant's `namespace`: ALLOW only from that namespace and the
 * ingress gateway's.
 */
export function desiredAuthorizationPolicy(
  tenant: TenantView,
  namespace: string,
  options: AuthorizationPolicyOptions,
): DesiredObject {
  const { resource, ingressNamespace } = options;
  return {
    resource,
    object: {
      apiVersion: `${resource.group}/${resource.version}`,
      kind: resource.kind,
      metadata: ownedMetadata(tenant, AUTHORIZATION_POLICY_NAME, { namespace }),
      spec: {
        action: "ALLOW",
        rules: [{ from: [{ source: { namespaces: [namespace, ingressNamespace] } }] }],
      },
    },
    specFields: ["action", "rules", "selector", "targetRef", "targetRefs", "provider"],
  };
}

/** Options of {@linkcode desiredConstraint}. */
export interface ConstraintOptions {
  /** The constraint kind as the cluster serves it. */
  resource: ResourceDescriptor;
  /** The plan's constraint. */
  constraint: ConstraintPlan;
}

/** A cluster-scoped Gatekeeper constraint matching only the tenant's `namespace`. */
export function desiredConstraint(
  tenant: TenantView,
  namespace: string,
  options: ConstraintOptions,
): DesiredObject {
  const { resource, constraint } = options;
  const spec: Record<string, unknown> = {
    match: {
      namespaces: [namespace],
      ...(constraint.kinds === undefined ? {} : { kinds: structuredClone(constraint.kinds) }),
    },
  };
  if (Object.keys(constraint.parameters).length > 0) {
    spec.parameters = structuredClone(constraint.parameters);
  }
  if (constraint.enforcementAction !== undefined) {
    spec.enforcementAction = constraint.enforcementAction;
  }
  return {
    resource,
    object: {
      apiVersion: `${resource.group}/${resource.version}`,
      kind: resource.kind,
      metadata: ownedMetadata(tenant, constraintName(namespace, constraint.kind)),
      spec,
    },
    specFields: ["match", "parameters", "enforcementAction"],
  };
}

/**
 * The network profile of a tenant whose plan is unknown (fail closed): isolated, with no egress
 * outside the cluster.
 */
export const LOCKDOWN_NETWORK: NetworkProfile = {
  isolation: true,
  internetEgress: false,
  clusterCIDRs: [],
  https: false,
};

/** Options of {@linkcode policiesStep}. */
export interface PoliciesStepOptions {
  /** The tenant's plan; `undefined` when the plan is not in the catalogue. */
  plan: Plan | undefined;
  /** The per-tenant objects as observed. */
  observed: readonly ObservedKind[];
  /** The cluster's integrations, ingress namespace and gateway host templates. */
  context: PlanContext;
  /** Gateway hosts of the tenants that claimed theirs before this one (see `HostClaim`). */
  hostClaims: readonly HostClaim[];
}

/**
 * Decides the isolation and policy objects of a tenant whose `namespace` is ready.
 * `options.plan` undefined = unknown plan, failed closed: `kleff-isolation` is created or restored
 * with {@linkcode LOCKDOWN_NETWORK}, `kleff-mtls` and `kleff-egress` (when served) with the
 * lockdown mesh settings (STRICT, platform namespaces only), every other policy object is kept
 * as it is, nothing is pruned (PoliciesReady=False UnknownPlan). Kinds the cluster does not serve are skipped and
 * named in a NotInstalled message. A tenant whose gateway hosts overlap an earlier claim gets no
 * Gateway (PoliciesReady=False HostConflict naming the other tenant).
 */
export function policiesStep(
  tenant: TenantView,
  namespace: string,
  options: PoliciesStepOptions,
): PlanStep {
  const { plan, observed, context } = options;
  const type = ConditionType.PoliciesReady;
  if (plan === undefined) {
    const mesh = meshObjects(tenant, namespace, { context, mesh: LOCKDOWN_MESH });
    const isolation = desiredNetworkPolicy(tenant, namespace, {
      network: LOCKDOWN_NETWORK,
      ingressNamespace: context.ingressNamespace,
    });
    const sync = syncObjects(tenant, [isolation, ...mesh.desired], { observed, prune: [] });
    return syncedStep(sync, {
      condition: {
        type,
        status: "False",
        reason: Reason.UnknownPlan,
        message: `the tenant's plan is not in the plan catalogue: failed closed with ${
          describeObject(networkPolicies, NETWORK_POLICY_NAME)
        } isolating the namespace without internet egress${
          mesh.placed.length === 0 ? "" : `, and ${mesh.placed.join(", ")} at their defaults`
        }; every other policy object is kept as it was`,
      },
      reason: EventReason.PoliciesSynced,
      where: `for namespace ${namespace}`,
    });
  }
  const { integrations } = context;
  const desired: DesiredObject[] = [];
  const missing: string[] = [];
  const invalid: string[] = [];
  const placed: string[] = [];
  let overlap: HostOverlap | undefined;
  if (plan.network.isolation) {
    desired.push(
      desiredNetworkPolicy(tenant, namespace, {
        network: plan.network,
        ingressNamespace: context.ingressNamespace,
      }),
    );
    placed.push(describeObject(networkPolicies, NETWORK_POLICY_NAME));
  }
  if (integrations.gateway) {
    const spec = tenant.spec!;
    const values = { username: spec.username, userId: spec.userId, tenant: tenant.name };
    const unique = renderHosts(context.gatewayHosts, values);
    if (unique === undefined) {
      const bad = context.gatewayHosts.filter((template) =>
        renderHost(template, values) === undefined
      );
      invalid.push(
        `Gateway ${GATEWAY_NAME} not created: ${
          bad.map((template) => `"${template}"`).join(", ")
        } gives no valid host name for username "${spec.username}"`,
      );
    } else {
      overlap = firstOverlap(unique, options.hostClaims);
      if (overlap === undefined) {
        desired.push(
          desiredGateway(tenant, namespace, {
            resource: integrations.gateway,
            hosts: unique,
            https: plan.network.https,
          }),
        );
        placed.push(describeObject(integrations.gateway, GATEWAY_NAME));
      }
    }
  } else missing.push(`${ISTIO_NETWORKING_GROUP} Gateway`);
  if (integrations.authorizationPolicy) {
    desired.push(
      desiredAuthorizationPolicy(tenant, namespace, {
        resource: integrations.authorizationPolicy,
        ingressNamespace: context.ingressNamespace,
      }),
    );
    placed.push(describeObject(integrations.authorizationPolicy, AUTHORIZATION_POLICY_NAME));
  } else missing.push(`${ISTIO_SECURITY_GROUP} AuthorizationPolicy`);
  const mesh = meshObjects(tenant, namespace, { context, mesh: plan.mesh });
  desired.push(...mesh.desired);
  placed.push(...mesh.placed);
  missing.push(...mesh.missing);
  for (const constraint of plan.constraints) {
    const resource = integrations.constraints[constraint.kind];
    if (resource === undefined) {
      missing.push(`${GATEKEEPER_CONSTRAINTS_GROUP} ${constraint.kind}`);
      continue;
    }
    desired.push(desiredConstraint(tenant, namespace, { resource, constraint }));
    placed.push(describeObject(resource, constraintName(namespace, constraint.kind)));
  }
  const sync = syncObjects(tenant, desired, {
    observed,
    prune: [networkPolicies, ...servedKinds(integrations)],
  });
  const inPlace = placed.length === 0
    ? "no policy object is needed"
    : `${placed.join(", ")} in place`;
  const condition: ConditionInput = blockedCondition(type, sync, { invalid }) ??
    (overlap === undefined ? undefined : {
      type,
      status: "False",
      reason: Reason.HostConflict,
      message: `${GATEWAY_NAME} not created: host ${overlap.host} overlaps ${overlap.claimed} ` +
        `of Tenant ${overlap.tenant}, which claimed it first; the first claimant keeps its ` +
        `hosts, this tenant gets its Gateway once they no longer overlap`,
    }) ??
    (missing.length === 0
      ? { type, status: "True", reason: Reason.PoliciesApplied, message: inPlace }
      : {
        type,
        status: "True",
        reason: Reason.NotInstalled,
        message: `${inPlace}; not installed in the cluster, so not enforced: ${missing.join(", ")}`,
      });
  return syncedStep(sync, {
    condition,
    reason: EventReason.PoliciesSynced,
    where: `for namespace ${namespace}`,
  });
}
