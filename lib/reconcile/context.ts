// What a decision needs besides the Tenant and its objects: the plan catalogue, which integration
// kinds the cluster serves (found through discovery) and the platform settings from flags.
import type { ResourceDescriptor } from "../api/mod.ts";
import type { PlanCatalogue } from "../plans/mod.ts";

/** API group of Istio's Gateway and Sidecar. */
export const ISTIO_NETWORKING_GROUP = "networking.istio.io";
/** API group of Istio's AuthorizationPolicy and PeerAuthentication. */
export const ISTIO_SECURITY_GROUP = "security.istio.io";
/** API group of Gatekeeper constraints (one kind per ConstraintTemplate). */
export const GATEKEEPER_CONSTRAINTS_GROUP = "constraints.gatekeeper.sh";
/** Default namespace of the ingress gateway (`--ingress-namespace`). */
export const DEFAULT_INGRESS_NAMESPACE = "istio-system";
/** Istio's control-plane namespace: every tenant's Sidecar imports its services. */
export const ISTIO_SYSTEM_NAMESPACE = "istio-system";
/** Default Gateway host templates (`--gateway-hosts`). */
export const DEFAULT_GATEWAY_HOSTS: readonly string[] = ["*.{username}.apps.example.com"];

/** The integration kinds the cluster serves, each at the version the operator uses. */
export interface Integrations {
  /** `networking.istio.io` `Gateway`, when served. */
  gateway?: ResourceDescriptor;
  /** `security.istio.io` `AuthorizationPolicy`, when served. */
  authorizationPolicy?: ResourceDescriptor;
  /** `security.istio.io` `PeerAuthentication`, when served. */
  peerAuthentication?: ResourceDescriptor;
  /** `networking.istio.io` `Sidecar`, when served. */
  sidecar?: ResourceDescriptor;
  /**
   * Served `constraints.gatekeeper.sh` kinds by kind: those the catalogue names, and those it
   * named earlier in this process while they are still served (so that constraints of a kind
   * dropped from the catalogue are still pruned and torn down).
   */
  constraints: Readonly<Record<string, ResourceDescriptor>>;
}

/** No integration served (a cluster without Istio and Gatekeeper). */
export const NO_INTEGRATIONS: Integrations = { constraints: {} };

/** The non-Tenant inputs of a decision. */
export interface PlanContext {
  /** The plan catalogue in force. */
  catalogue: PlanCatalogue;
  /** What the cluster serves. */
  integrations: Integrations;
  /** Namespace of the ingress gateway: admitted by the NetworkPolicy and AuthorizationPolicy. */
  ingressNamespace: string;
  /** Gateway host templates, e.g. `*.{username}.apps.example.com`. */
  gatewayHosts: readonly string[];
  /**
   * Platform namespaces every tenant's Sidecar imports besides its own, the ingress namespace and
   * `istio-system` (`--mesh-egress-namespaces`).
   */
  meshEgressNamespaces: readonly string[];
  /**
   * Namespaces no tenant may have (names, or prefixes ending in `*`): the always-reserved ones,
   * `--reserved-namespaces`, the operator's own namespace and the ingress namespace.
   */
  reservedNamespaces: readonly string[];
}

/** The key under which objects of `resource` are observed: `Kind` or `Kind.group`. */
export function observationKey(resource: ResourceDescriptor): string {
  return resource.group ? `${resource.kind}.${resource.group}` : resource.kind;
}

/**
 * Every integration kind `integrations` serves: Gateway, AuthorizationPolicy, PeerAuthentication,
 * Sidecar, constraints.
 */
export function servedKinds(integrations: Integrations): ResourceDescriptor[] {
  return [
    integrations.gateway,
    integrations.authorizationPolicy,
    integrations.peerAuthentication,
    integrations.sidecar,
    ...Object.values(integrations.constraints),
  ].filter((resource): resource is ResourceDescriptor => resource !== undefined);
}

/** Whether two integration sets serve the same kinds at the same versions. */
export function sameIntegrations(a: Integrations, b: Integrations): boolean {
  const describe = (integrations: Integrations) =>
    JSON.stringify([
      integrations.gateway,
      integrations.authorizationPolicy,
      integrations.peerAuthentication,
      integrations.sidecar,
      Object.entries(integrations.constraints).sort(([x], [y]) => x.localeCompare(y)),
    ]);
  return describe(a) === describe(b);
}
