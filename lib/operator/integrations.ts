// Finds which integration kinds the cluster serves (Istio's Gateway and AuthorizationPolicy,
// Gatekeeper's constraint kinds): one GET of /apis and one per relevant group version, so the
// check is cheap enough to repeat on a timer and pick up CRDs installed after the operator started.
import type { KubeClient, ResourceDescriptor } from "../client/mod.ts";
import {
  GATEKEEPER_CONSTRAINTS_GROUP,
  type Integrations,
  ISTIO_NETWORKING_GROUP,
  ISTIO_SECURITY_GROUP,
} from "../reconcile/mod.ts";

interface ApiGroupList {
  groups?: {
    name: string;
    versions?: { version: string }[];
    preferredVersion?: { version: string };
  }[];
}

interface ApiResourceList {
  resources?: { name: string; kind: string; namespaced: boolean }[];
}

/**
 * The integrations served now. `constraintKinds` are the Gatekeeper kinds the catalogue names
 * (others are ignored). For each kind the group's preferred version is used when it serves it,
 * else the first version that does. API errors propagate (the caller keeps what it knew).
 */
export async function discoverIntegrations(
  client: KubeClient,
  constraintKinds: readonly string[],
  options: { signal?: AbortSignal } = {},
): Promise<Integrations> {
  const { signal } = options;
  const groups = await client.request<ApiGroupList>({ path: "/apis", signal });
  const wanted = [ISTIO_NETWORKING_GROUP, ISTIO_SECURITY_GROUP, GATEKEEPER_CONSTRAINTS_GROUP];
  const found = new Map<string, ResourceDescriptor>();
  for (const group of groups.groups ?? []) {
    if (!wanted.includes(group.name)) continue;
    const preferred = group.preferredVersion?.version;
    const versions = (group.versions ?? []).map((item) => item.version)
      .sort((a, b) => Number(b === preferred) - Number(a === preferred));
    for (const version of versions) {
      const list = await client.request<ApiResourceList>({
        path: `/apis/${group.name}/${version}`,
        signal,
      });
      for (const resource of list.resources ?? []) {
        const key = `${group.name}/${resource.kind}`;
        if (resource.name.includes("/") || found.has(key)) continue;
        found.set(key, {
          group: group.name,
          version,
          plural: resource.name,
          kind: resource.kind,
          namespaced: resource.namespaced,
        });
      }
    }
  }
  const constraints: Record<string, ResourceDescriptor> = {};
  for (const kind of constraintKinds) {
    const resource = found.get(`${GATEKEEPER_CONSTRAINTS_GROUP}/${kind}`);
    if (resource !== undefined && !resource.namespaced) constraints[kind] = resource;
  }
  const gateway = found.get(`${ISTIO_NETWORKING_GROUP}/Gateway`);
  const authorizationPolicy = found.get(`${ISTIO_SECURITY_GROUP}/AuthorizationPolicy`);
  return {
    ...(gateway?.namespaced ? { gateway } : {}),
    ...(authorizationPolicy?.namespaced ? { authorizationPolicy } : {}),
    constraints,
  };
}
