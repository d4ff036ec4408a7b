// Finds which integration kinds the cluster serves (Istio's Gateway and AuthorizationPolicy,
// Gatekeeper's constraint kinds) through discovery of their three groups only, so the check is
// cheap enough to repeat on a timer and pick up CRDs installed after the operator started.
import type { KubeClient, ResourceDescriptor } from "../client/mod.ts";
import { preferredResource, type ServedResource } from "../client/discovery.ts";
import {
  GATEKEEPER_CONSTRAINTS_GROUP,
  type Integrations,
  ISTIO_NETWORKING_GROUP,
  ISTIO_SECURITY_GROUP,
} from "../reconcile/mod.ts";

/**
 * The integrations served now. `constraintKinds` are the Gatekeeper kinds to look for (others are
 * ignored). For each kind the group's preferred version is used when it serves it, else the
 * first version that does. API errors propagate (the caller keeps what it knew).
 */
export async function discoverIntegrations(
  client: KubeClient,
  constraintKinds: Iterable<string>,
  options: { signal?: AbortSignal } = {},
): Promise<Integrations> {
  const served = await client.discovery.serverResources({
    groups: [ISTIO_NETWORKING_GROUP, ISTIO_SECURITY_GROUP, GATEKEEPER_CONSTRAINTS_GROUP],
    signal: options.signal,
  });
  const find = (group: string, kind: string, namespaced: boolean) => {
    const found = preferredResource(served, group, kind);
    return found?.namespaced === namespaced ? descriptor(found) : undefined;
  };
  const constraints: Record<string, ResourceDescriptor> = {};
  for (const kind of constraintKinds) {
    const resource = find(GATEKEEPER_CONSTRAINTS_GROUP, kind, false);
    if (resource !== undefined) constraints[kind] = resource;
  }
  const gateway = find(ISTIO_NETWORKING_GROUP, "Gateway", true);
  const authorizationPolicy = find(ISTIO_SECURITY_GROUP, "AuthorizationPolicy", true);
  return {
    ...(gateway ? { gateway } : {}),
    ...(authorizationPolicy ? { authorizationPolicy } : {}),
    constraints,
  };
}

/** The descriptor of a served kind, without what discovery adds. */
function descriptor(served: ServedResource): ResourceDescriptor {
  const { group, version, plural, kind, namespaced } = served;
  return { group, version, plural, kind, namespaced };
}
