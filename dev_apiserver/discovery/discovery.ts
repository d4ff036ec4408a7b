// Discovery documents: /version, /api, /apis, group-version resource lists and aggregated discovery v2.
import { groupVersion, type ResourceInfo, type ResourceRegistry } from "../storage/resources.ts";

/** `/version`, as kubectl 1.32 expects. */
export const VERSION_INFO = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0-kleff-dev",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2025-01-01T00:00:00Z",
  goVersion: "go1.23.4",
  compiler: "gc",
  platform: "linux/amd64",
};

/** Kube's version priority: GA > beta > alpha, higher numbers first, then other strings. */
function compareVersions(a: string, b: string): number {
  const rank = (v: string): [number, number, number, string] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [3, 0, 0, v];
    const level = m[2] === undefined ? 0 : m[2] === "beta" ? 1 : 2;
    return [level, -Number(m[1]), -Number(m[3] ?? 0), v];
  };
  const ra = rank(a);
  const rb = rank(b);
  for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return (ra[i] as number) - (rb[i] as number);
  return ra[3] < rb[3] ? -1 : ra[3] > rb[3] ? 1 : 0;
}

/** Groups (core first as "") with their versions in priority order. */
function groups(registry: ResourceRegistry): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  for (const info of registry.all()) {
    if (!out.has(info.group)) out.set(info.group, new Set());
    out.get(info.group)!.add(info.version);
  }
  return new Map([...out].map(([g, vs]) => [g, [...vs].sort(compareVersions)]));
}

/** `/api`. */
export function apiVersions(serverAddress: string): unknown {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function apiGroup(name: string, versions: string[]): Record<string, unknown> {
  const entries = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: entries, preferredVersion: entries[0] };
}

/** `/apis`. */
export function apiGroupList(registry: ResourceRegistry): unknown {
  const list = [...groups(registry)].filter(([g]) => g !== "").map(([g, vs]) => apiGroup(g, vs));
  return { kind: "APIGroupList", apiVersion: "v1", groups: list };
}

/** `/apis/<group>`, or undefined when the group is not served. */
export function apiGroupDoc(registry: ResourceRegistry, group: string): unknown {
  const versions = groups(registry).get(group);
  if (!versions || group === "") return undefined;
  return { kind: "APIGroup", apiVersion: "v1", ...apiGroup(group, versions) };
}

function resourceEntries(info: ResourceInfo): Record<string, unknown>[] {
  const main: Record<string, unknown> = {
    name: info.resource,
    singularName: info.singular,
    namespaced: info.namespaced,
    kind: info.kind,
    verbs: info.verbs,
  };
  if (info.shortNames.length > 0) main.shortNames = info.shortNames;
  if (info.categories.length > 0) main.categories = info.categories;
  const out = [main];
  if (info.statusSubresource) {
    out.push({
      name: `${info.resource}/status`,
      singularName: "",
      namespaced: info.namespaced,
      kind: info.kind,
      verbs: ["get", "patch", "update"],
    });
  }
  if (info.group === "" && info.resource === "namespaces") {
    out.push({
      name: "namespaces/finalize",
      singularName: "",
      namespaced: false,
      kind: "Namespace",
      verbs: ["update"],
    });
  }
  return out;
}

/** `/api/v1` or `/apis/<group>/<version>`, or undefined when not served. */
export function apiResourceList(
  registry: ResourceRegistry,
  group: string,
  version: string,
): unknown {
  const infos = registry.all().filter((i) => i.group === group && i.version === version);
  if (infos.length === 0) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: groupVersion({ group, version }),
    resources: infos.flatMap(resourceEntries),
  };
}

function discoveryResource(info: ResourceInfo): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    resource: info.resource,
    responseKind: { group: info.group, version: info.version, kind: info.kind },
    scope: info.namespaced ? "Namespaced" : "Cluster",
    singularResource: info.singular,
    verbs: info.verbs,
  };
  if (info.shortNames.length > 0) entry.shortNames = info.shortNames;
  if (info.categories.length > 0) entry.categories = info.categories;
  const subresources: Record<string, unknown>[] = [];
  if (info.statusSubresource) {
    subresources.push({
      subresource: "status",
      responseKind: { group: info.group, version: info.version, kind: info.kind },
      verbs: ["get", "patch", "update"],
    });
  }
  if (subresources.length > 0) entry.subresources = subresources;
  return entry;
}

/** Aggregated discovery (`APIGroupDiscoveryList`) for `/api` (core) or `/apis` (groups). */
export function aggregatedDiscoveryList(
  registry: ResourceRegistry,
  core: boolean,
  version: "v2" | "v2beta1",
): unknown {
  const items = [...groups(registry)]
    .filter(([g]) => (g === "") === core)
    .map(([g, versions]) => ({
      metadata: { name: g, creationTimestamp: null },
      versions: versions.map((v) => ({
        version: v,
        resources: registry.all().filter((i) => i.group === g && i.version === v).map(
          discoveryResource,
        ),
        freshness: "Current",
      })),
    }));
  return {
    kind: "APIGroupDiscoveryList",
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items,
  };
}
