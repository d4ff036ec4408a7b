// The tenant's mesh objects (ARCHITECTURE.md §6): PeerAuthentication `kleff-mtls` (mutual TLS for
// every workload of the namespace, STRICT unless the plan chooses PERMISSIVE) and Sidecar
// `kleff-egress` (the services its proxies are told about: its own namespace and the platform's,
// plus what the plan adds), so that peer identities under the AuthorizationPolicy are real and
// a tenant's proxies learn nothing of other tenants' services.
import type { ResourceDescriptor } from "../api/mod.ts";
import { DEFAULT_MESH, type MeshProfile } from "../plans/mod.ts";
import {
  ISTIO_NETWORKING_GROUP,
  ISTIO_SECURITY_GROUP,
  ISTIO_SYSTEM_NAMESPACE,
  type PlanContext,
} from "./context.ts";
import { describeObject, type DesiredObject, ownedMetadata } from "./managed.ts";
import type { TenantView } from "./spec.ts";

/** Name of the tenant's Istio PeerAuthentication. */
export const PEER_AUTHENTICATION_NAME = "kleff-mtls";
/** Name of the tenant's Istio Sidecar. */
export const SIDECAR_NAME = "kleff-egress";

/**
 * The mesh settings of a tenant whose plan is unknown (fail closed): STRICT mutual TLS, and a
 * Sidecar importing only the tenant's own namespace and the platform's.
 */
export const LOCKDOWN_MESH: MeshProfile = DEFAULT_MESH;

/** Options of {@linkcode desiredPeerAuthentication}. */
export interface PeerAuthenticationOptions {
  /** The Istio PeerAuthentication kind as the cluster serves it. */
  resource: ResourceDescriptor;
  /** The plan's mesh settings. */
  mesh: MeshProfile;
}

/**
 * The PeerAuthentication in the tenant's `namespace`: no selector (every workload of the
 * namespace), mutual TLS in the plan's mode. Every spec field is owned, since each could weaken
 * it: a `selector` would narrow it to some workloads, `portLevelMtls` would open ports.
 */
export function desiredPeerAuthentication(
  tenant: TenantView,
  namespace: string,
  options: PeerAuthenticationOptions,
): DesiredObject {
  const { resource, mesh } = options;
  return {
    resource,
    object: {
      apiVersion: `${resource.group}/${resource.version}`,
      kind: resource.kind,
      metadata: ownedMetadata(tenant, PEER_AUTHENTICATION_NAME, { namespace }),
      spec: { mtls: { mode: mesh.mtls } },
    },
    specFields: ["mtls", "selector", "portLevelMtls"],
  };
}

/** Options of {@linkcode sidecarEgressHosts}. */
export interface SidecarEgressOptions {
  /** The namespace of the Istio ingress gateway. */
  ingressNamespace: string;
  /** More platform namespaces (`--mesh-egress-namespaces`). */
  platformNamespaces: readonly string[];
  /** The plan's mesh settings (its extra hosts). */
  mesh: MeshProfile;
}

/**
 * The Sidecar's egress hosts: the tenant's own namespace (`./*`), the ingress namespace,
 * `istio-system` and the other platform namespaces (`<namespace>/*` each), then the plan's hosts,
 * without repeats, in that order.
 */
export function sidecarEgressHosts(options: SidecarEgressOptions): string[] {
  const platform = [options.ingressNamespace, ISTIO_SYSTEM_NAMESPACE, ...options.platformNamespaces]
    .map((namespace) => `${namespace}/*`);
  return [...new Set(["./*", ...platform, ...options.mesh.egressHosts])];
}

/** Options of {@linkcode desiredSidecar}. */
export interface SidecarOptions extends SidecarEgressOptions {
  /** The Istio Sidecar kind as the cluster serves it. */
  resource: ResourceDescriptor;
}

/**
 * The Sidecar in the tenant's `namespace`: no `workloadSelector` (the namespace's default for every
 * workload), one egress listener importing {@linkcode sidecarEgressHosts}. Every spec field is
 * owned: a selector would leave the other workloads unscoped, listeners or an outbound policy
 * added by someone else would change what the tenant's proxies do. It scopes configuration, it
 * does not block traffic: the NetworkPolicy and AuthorizationPolicy do that.
 */
export function desiredSidecar(
  tenant: TenantView,
  namespace: string,
  options: SidecarOptions,
): DesiredObject {
  const { resource } = options;
  return {
    resource,
    object: {
      apiVersion: `${resource.group}/${resource.version}`,
      kind: resource.kind,
      metadata: ownedMetadata(tenant, SIDECAR_NAME, { namespace }),
      spec: { egress: [{ hosts: sidecarEgressHosts(options) }] },
    },
    specFields: [
      "egress",
      "workloadSelector",
      "ingress",
      "outboundTrafficPolicy",
      "inboundConnectionPool",
    ],
  };
}

/** The mesh objects of a tenant, for the policies step. */
export interface MeshObjects {
  /** The objects wanted (kinds served only). */
  desired: DesiredObject[];
  /** Those objects as the condition names them: `PeerAuthentication kleff-mtls (STRICT)`. */
  placed: string[];
  /** The kinds not served, as the NotInstalled message names them. */
  missing: string[];
}

/** Options of {@linkcode meshObjects}. */
export interface MeshObjectsOptions {
  /** The served kinds and platform settings. */
  context: PlanContext;
  /** The mesh settings to apply (the plan's, or {@linkcode LOCKDOWN_MESH}). */
  mesh: MeshProfile;
}

/** PeerAuthentication and Sidecar of the tenant's `namespace`, each when its kind is served. */
export function meshObjects(
  tenant: TenantView,
  namespace: string,
  options: MeshObjectsOptions,
): MeshObjects {
  const { context, mesh } = options;
  const { peerAuthentication, sidecar } = context.integrations;
  const result: MeshObjects = { desired: [], placed: [], missing: [] };
  if (peerAuthentication) {
    result.desired.push(
      desiredPeerAuthentication(tenant, namespace, { resource: peerAuthentication, mesh }),
    );
    result.placed.push(
      `${describeObject(peerAuthentication, PEER_AUTHENTICATION_NAME)} (${mesh.mtls})`,
    );
  } else result.missing.push(`${ISTIO_SECURITY_GROUP} PeerAuthentication`);
  if (sidecar) {
    result.desired.push(
      desiredSidecar(tenant, namespace, {
        resource: sidecar,
        ingressNamespace: context.ingressNamespace,
        platformNamespaces: context.meshEgressNamespaces,
        mesh,
      }),
    );
    result.placed.push(describeObject(sidecar, SIDECAR_NAME));
  } else result.missing.push(`${ISTIO_NETWORKING_GROUP} Sidecar`);
  return result;
}
