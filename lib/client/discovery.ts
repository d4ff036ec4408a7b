// Finds which group/version/kinds the server serves (CRDs such as Istio's or Gatekeeper's can appear at any time).
import type { Requester } from "./request.ts";
import type { ResourceDescriptor } from "./resource.ts";

interface ApiResourceList {
  groupVersion?: string;
  resources?: { name: string; kind: string; namespaced: boolean; verbs?: string[] }[];
}
interface ApiGroupList {
  groups?: {
    name: string;
    versions?: { groupVersion: string; version: string }[];
    preferredVersion?: { version: string };
  }[];
}

/** A served kind, with the group's preferred version first among its versions. */
export interface ServedResource extends ResourceDescriptor {
  /** Whether this version is the group's preferred one. */
  preferred: boolean;
  /** Verbs the server allows. */
  verbs: string[];
}

/** Reads the server's discovery documents; every call fetches afresh. */
export class Discovery {
  #requester: Requester;

  /** Creates discovery over a requester. */
  constructor(requester: Requester) {
    this.#requester = requester;
  }

  /**
   * Every served kind (subresources left out), across all groups and versions, or of the named
   * `groups` only (`""` is the core group). The group versions are fetched in parallel.
   */
  async serverResources(
    options: { groups?: readonly string[]; signal?: AbortSignal } = {},
  ): Promise<ServedResource[]> {
    const { signal, groups: only } = options;
    const core = only === undefined || only.includes("")
      ? await this.#requester.request<{ versions?: string[] }>({ path: "/api", signal })
      : undefined;
    const groups = only !== undefined && only.every((group) => group === "")
      ? undefined
      : await this.#requester.request<ApiGroupList>({ path: "/apis", signal });
    const targets: { group: string; version: string; path: string; preferred: boolean }[] =
      (core?.versions ?? [])
        .map((version, index) => ({
          group: "",
          version,
          path: `/api/${version}`,
          preferred: index === 0,
        }));
    for (const group of groups?.groups ?? []) {
      if (only !== undefined && !only.includes(group.name)) continue;
      for (const version of group.versions ?? []) {
        targets.push({
          group: group.name,
          version: version.version,
          path: `/apis/${version.groupVersion}`,
          preferred: group.preferredVersion?.version === version.version,
        });
      }
    }
    const lists = await Promise.all(
      targets.map((target) =>
        this.#requester.request<ApiResourceList>({ path: target.path, signal })
      ),
    );
    return lists.flatMap((list, index) => {
      const { group, version, preferred } = targets[index];
      return (list?.resources ?? [])
        .filter((resource) => !resource.name.includes("/"))
        .map((resource) => ({
          group,
          version,
          plural: resource.name,
          kind: resource.kind,
          namespaced: resource.namespaced,
          preferred,
          verbs: resource.verbs ?? [],
        }));
    });
  }

  /** The served kind `kind` of `group` (the preferred version when several), or undefined. */
  async findResource(
    group: string,
    kind: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<ServedResource | undefined> {
    const served = await this.serverResources({ groups: [group], signal: options.signal });
    return preferredResource(served, group, kind);
  }
}

/** The kind `kind` of `group` among `served`, at the group's preferred version when it serves it. */
export function preferredResource(
  served: readonly ServedResource[],
  group: string,
  kind: string,
): ServedResource | undefined {
  const matches = served.filter((r) => r.group === group && r.kind === kind);
  return matches.find((r) => r.preferred) ?? matches[0];
}
