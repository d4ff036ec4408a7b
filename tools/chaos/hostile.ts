// The chaos workload's hostile moves (issue 11), as a tenant admin or a customer would try them:
// disowning the guard rails in their own namespace (stripping the operator's labels and
// annotation, weakening, deleting), squatting reserved namespaces, user names colliding with
// another tenant's gateway hosts, and objects labelled as another tenant's.
import type { CustomResourceDefinition } from "kubernetes-types/apiextensions/v1.d.ts";
import type { Namespace } from "kubernetes-types/core/v1.d.ts";
import {
  ALWAYS_RESERVED_NAMESPACES,
  DEFAULT_RESERVED_NAMESPACES,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  reservedBy,
  TENANT_LABEL,
  TENANT_UID_ANNOTATION,
} from "../../lib/api/mod.ts";
import {
  type KubeClient,
  type KubeObject,
  limitRanges,
  networkPolicies,
  type ResourceDescriptor,
  resourceQuotas,
} from "../../lib/client/mod.ts";
import { type Ledger, retrying, type TenantRecord } from "./ledger.ts";
import type { Prng } from "./prng.ts";

/** Prefix of the namespaces the replicas' `--reserved-namespaces` adds (the CRD allows them). */
export const SQUAT_PREFIX = "platform-";

/** The replicas' `--reserved-namespaces`: the defaults and `platform-*`. */
export const CHAOS_RESERVED_NAMESPACES: readonly string[] = [
  ...DEFAULT_RESERVED_NAMESPACES,
  `${SQUAT_PREFIX}*`,
];

/** Whether the replicas refuse `userId` as a reserved namespace. */
export function isReservedUserId(userId: string): boolean {
  return reservedBy(userId, [...ALWAYS_RESERVED_NAMESPACES, ...CHAOS_RESERVED_NAMESPACES]) !==
    undefined;
}

/** The Istio Gateway kind the chaos run serves, so that tenants get gateways and hosts matter. */
export const CHAOS_GATEWAYS: ResourceDescriptor = {
  group: "networking.istio.io",
  version: "v1",
  plural: "gateways",
  kind: "Gateway",
  namespaced: true,
};

/** The Istio PeerAuthentication kind the chaos run serves (`kleff-mtls`). */
export const CHAOS_PEER_AUTHENTICATIONS: ResourceDescriptor = {
  group: "security.istio.io",
  version: "v1",
  plural: "peerauthentications",
  kind: "PeerAuthentication",
  namespaced: true,
};

/** The Istio Sidecar kind the chaos run serves (`kleff-egress`). */
export const CHAOS_SIDECARS: ResourceDescriptor = {
  group: "networking.istio.io",
  version: "v1",
  plural: "sidecars",
  kind: "Sidecar",
  namespaced: true,
};

/** Every Istio kind the chaos run serves. */
export const CHAOS_ISTIO_KINDS: readonly ResourceDescriptor[] = [
  CHAOS_GATEWAYS,
  CHAOS_PEER_AUTHENTICATIONS,
  CHAOS_SIDECARS,
];

/** A schema accepting any object (unknown fields kept). */
const ANY_OBJECT = { type: "object", "x-kubernetes-preserve-unknown-fields": true };

/** A minimal CRD (structural, any spec) serving `resource` at its version. */
function anySpecCrd(resource: ResourceDescriptor): CustomResourceDefinition {
  const singular = resource.kind.toLowerCase();
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${resource.plural}.${resource.group}` },
    spec: {
      group: resource.group,
      names: {
        kind: resource.kind,
        listKind: `${resource.kind}List`,
        plural: resource.plural,
        singular,
      },
      scope: "Namespaced",
      versions: [{
        name: resource.version,
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: "object", properties: { spec: ANY_OBJECT } } },
      }],
    },
  };
}

/** The CRDs serving {@linkcode CHAOS_ISTIO_KINDS}. */
export const CHAOS_ISTIO_CRDS: readonly CustomResourceDefinition[] = CHAOS_ISTIO_KINDS.map(
  anySpecCrd,
);

/** The operator's guard rails a tenant admin may try to disown. */
const GUARD_RAILS: readonly [ResourceDescriptor, string][] = [
  [resourceQuotas, "kleff-quota"],
  [networkPolicies, "kleff-isolation"],
  [limitRanges, "kleff-limits"],
  [CHAOS_PEER_AUTHENTICATIONS, "kleff-mtls"],
  [CHAOS_SIDECARS, "kleff-egress"],
];

/** A weakened spec for each guard rail (what a tenant admin wants instead). */
const WEAKENED: Record<string, unknown> = {
  "kleff-quota": { hard: { pods: "999" }, scopes: ["BestEffort"] },
  "kleff-isolation": { ingress: [{}], egress: [{}] },
  "kleff-limits": { limits: [{ type: "Container", max: { cpu: "64" } }] },
  "kleff-mtls": { mtls: { mode: "DISABLE" }, portLevelMtls: { "8080": { mode: "DISABLE" } } },
  "kleff-egress": { egress: [{ hosts: ["*/*"] }], workloadSelector: { labels: { app: "x" } } },
};

/**
 * A user name whose gateway hosts collide with `username`'s: another case, `_` for `-`, or a
 * subdomain of it.
 */
export function collidingUsername(username: string, prng: Prng): string {
  const variants = [username.toUpperCase(), `x.${username}`];
  if (username.includes("-")) variants.push(username.replaceAll("-", "_"));
  return prng.pick(variants);
}

/** The hostile moves inside tenant namespaces. */
export class HostileMoves {
  readonly #client: KubeClient;
  readonly #ledger: Ledger;
  readonly #prng: Prng;

  /** Moves against `client`, recorded in `ledger`, chosen by `prng`. */
  constructor(client: KubeClient, ledger: Ledger, prng: Prng) {
    this.#client = client;
    this.#ledger = ledger;
    this.#prng = prng;
  }

  /**
   * Strips the operator's labels and annotation from one guard rail in the tenant's namespace,
   * sometimes weakening it in the same patch, sometimes deleting it afterwards.
   */
  async disown(tenant: TenantRecord): Promise<void> {
    const [resource, name] = this.#prng.pick(GUARD_RAILS);
    const objects = this.#client.resource<KubeObject>(resource);
    const namespace = tenant.userId;
    await retrying(() =>
      objects.patch(name, {
        metadata: {
          labels: { [MANAGED_BY_LABEL]: null, [TENANT_LABEL]: null },
          annotations: { [TENANT_UID_ANNOTATION]: null },
        },
        ...(this.#prng.chance(0.5) ? { spec: WEAKENED[name] } : {}),
      }, { namespace })
    );
    if (this.#prng.chance(0.3)) await retrying(() => objects.delete(name, { namespace }));
  }

  /**
   * Creates NetworkPolicies in the tenant's namespace labelled and annotated as `other`'s (one
   * with one of the operator's names, one without) and patches them again and again: the
   * operator must neither touch them nor reconcile `other` for them.
   */
  async crossLabel(tenant: TenantRecord, namespace: Namespace, other: TenantRecord): Promise<void> {
    const policies = this.#client.resource<KubeObject>(networkPolicies);
    const step = this.#ledger.actions.get("crossLabel") ?? 0;
    const name = `${this.#prng.chance(0.5) ? "kleff-" : ""}claims-${other.name}-${step}`;
    let created = await retrying(() =>
      policies.create({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: {
          name,
          namespace: tenant.userId,
          labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [TENANT_LABEL]: other.name },
          annotations: { [TENANT_UID_ANNOTATION]: other.uid },
        },
        spec: { podSelector: {} },
      }, { namespace: tenant.userId })
    );
    for (let round = 0; created && round < 5; round++) {
      created = await retrying(() =>
        policies.patch(name, { metadata: { labels: { "chaos.kleff.io/round": `${round}` } } }, {
          namespace: tenant.userId,
        })
      ) ?? created;
    }
    if (!created) return;
    this.#ledger.foreignObjects.push({
      kind: "NetworkPolicy",
      namespace: tenant.userId,
      name,
      uid: created.metadata?.uid ?? "",
      resourceVersion: created.metadata?.resourceVersion ?? "",
      namespaceUid: namespace.metadata?.uid,
    });
  }
}
