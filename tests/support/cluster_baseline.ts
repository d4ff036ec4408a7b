// Puts a shared real cluster back the way it was between tests: every object a test left
// behind is deleted (finalizers stripped, namespaces emptied and finalized by hand, so this works
// without kube-controller-manager too), so each test starts from the same state as on a fresh
// dev API server.
import type { KubeClient, KubeObject, ServedResource } from "../../lib/client/mod.ts";
import { isConflict, isNotFound } from "../../lib/client/mod.ts";

/** Namespaces of the control plane itself: never touched. */
const CONTROL_PLANE_NAMESPACES = new Set(["kube-system", "kube-public", "kube-node-lease"]);
/** Cluster-scoped groups the API server keeps for itself (APIServices of CRDs, flow control). */
const CONTROL_PLANE_GROUPS = new Set(["apiregistration.k8s.io", "flowcontrol.apiserver.k8s.io"]);

/** Objects the control plane makes in every namespace, left alone in the baseline's namespaces. */
function controlPlaneOwned(resource: ServedResource, object: KubeObject): boolean {
  const name = object.metadata?.name;
  if (resource.group !== "") return false;
  if (resource.plural === "serviceaccounts") return name === "default";
  if (resource.plural === "configmaps") return name === "kube-root-ca.crt";
  if (resource.plural === "secrets") {
    return (object as { type?: string }).type === "kubernetes.io/service-account-token";
  }
  return false;
}

/** Thrown when leftovers do not go away. */
export class BaselineRestoreError extends Error {
  /** Builds the error listing what is left. */
  constructor(left: string[]) {
    super(`objects left after restoring the cluster baseline: ${left.slice(0, 20).join(", ")}`);
    this.name = "BaselineRestoreError";
  }
}

interface Found {
  resource: ServedResource;
  object: KubeObject;
}

function path(resource: ServedResource, namespace?: string, name?: string): string {
  const prefix = resource.group === ""
    ? `/api/${resource.version}`
    : `/apis/${resource.group}/${resource.version}`;
  const scope = namespace ? `/namespaces/${namespace}` : "";
  return `${prefix}${scope}/${resource.plural}${name ? `/${name}` : ""}`;
}

function describe(found: Found): string {
  const { namespace, name } = found.object.metadata ?? {};
  return `${found.resource.plural}/${namespace ? `${namespace}/` : ""}${name}`;
}

/** Ignores 404 and 409 (someone else got there first). */
async function tolerant(request: Promise<unknown>): Promise<void> {
  try {
    await request;
  } catch (error) {
    if (!isNotFound(error) && !isConflict(error)) throw error;
  }
}

/** A baseline as JSON, to hand to other test processes. */
export interface BaselineRecord {
  /** The uids of every object. */
  uids: string[];
  /** The names of the namespaces. */
  namespaces: string[];
  /** `plural/name` of cluster-scoped objects never deleted. */
  keep: string[];
}

/** The objects of a cluster at one moment, by uid, and how to get back to them. */
export class ClusterBaseline {
  readonly #uids: Set<string>;
  readonly #namespaces: Set<string>;
  readonly #keep: Set<string>;

  /** A baseline from its record (see {@linkcode take}). */
  constructor(record: BaselineRecord) {
    this.#uids = new Set(record.uids);
    this.#namespaces = new Set(record.namespaces);
    this.#keep = new Set(record.keep);
  }

  /** The baseline as JSON. */
  get record(): BaselineRecord {
    return { uids: [...this.#uids], namespaces: [...this.#namespaces], keep: [...this.#keep] };
  }

  /**
   * Records every object now in the cluster. Objects named in `keep` (`plural/name` of
   * cluster-scoped objects, such as a CRD the harness replaces itself) are never deleted.
   */
  static async take(client: KubeClient, keep: string[] = []): Promise<ClusterBaseline> {
    const record: BaselineRecord = { uids: [], namespaces: [], keep };
    for (const { resource, object } of await everything(client)) {
      record.uids.push(object.metadata!.uid!);
      if (resource.group === "" && resource.plural === "namespaces") {
        record.namespaces.push(object.metadata!.name!);
      }
    }
    return new ClusterBaseline(record);
  }

  /** What is in the cluster now and not in the baseline. */
  async leftovers(client: KubeClient): Promise<Found[]> {
    return (await everything(client)).filter(({ resource, object }) => {
      const { uid, namespace, name } = object.metadata ?? {};
      if (this.#uids.has(uid!)) return false;
      if (!resource.namespaced && this.#keep.has(`${resource.plural}/${name}`)) return false;
      if (namespace && this.#namespaces.has(namespace) && controlPlaneOwned(resource, object)) {
        return false;
      }
      return true;
    });
  }

  /**
   * Deletes every leftover, stripping finalizers, emptying and finalizing namespaces itself,
   * until none is left (fails after `timeoutMs`).
   */
  async restore(client: KubeClient, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = await this.leftovers(client);
      if (left.length === 0) return;
      if (Date.now() > deadline) throw new BaselineRestoreError(left.map(describe));
      const occupied = new Set(left.map(({ object }) => object.metadata?.namespace));
      for (const found of left) {
        const { resource, object } = found;
        const { namespace, name, finalizers, deletionTimestamp } = object.metadata ?? {};
        const isNamespace = resource.group === "" && resource.plural === "namespaces";
        if (finalizers?.length) {
          await tolerant(client.request({
            method: "PATCH",
            path: path(resource, namespace, name),
            body: { metadata: { finalizers: null } },
            contentType: "application/merge-patch+json",
          }));
        }
        if (!deletionTimestamp) {
          await tolerant(client.request({
            method: "DELETE",
            path: path(resource, namespace, name),
          }));
        }
        if (isNamespace && deletionTimestamp && !occupied.has(name)) {
          // What the namespace controller does last: drop the "kubernetes" finalizer.
          await tolerant(client.request({
            method: "PUT",
            path: `/api/v1/namespaces/${name}/finalize`,
            body: { ...object, apiVersion: "v1", kind: "Namespace", spec: { finalizers: [] } },
          }));
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Every object the baseline is about: listable, deletable, outside the control plane's own. */
async function everything(client: KubeClient): Promise<Found[]> {
  const resources = (await servedResources(client)).filter((resource) =>
    resource.preferred && resource.verbs.includes("list") && resource.verbs.includes("delete") &&
    !(!resource.namespaced && CONTROL_PLANE_GROUPS.has(resource.group))
  );
  const lists = await Promise.all(resources.map(async (resource) => {
    try {
      return await client.request<{ items?: KubeObject[] }>({ path: path(resource) });
    } catch (error) {
      // A CRD deleted between discovery and the list.
      if (isNotFound(error)) return { items: [] };
      throw error;
    }
  }));
  const seen = new Set<string>();
  const found: Found[] = [];
  lists.forEach((list, index) => {
    for (const object of list.items ?? []) {
      const uid = object.metadata?.uid;
      const namespace = object.metadata?.namespace;
      // The same object served by two groups (events in "" and events.k8s.io) counts once.
      if (!uid || seen.has(uid) || (namespace && CONTROL_PLANE_NAMESPACES.has(namespace))) continue;
      seen.add(uid);
      found.push({ resource: resources[index], object });
    }
  });
  return found;
}

/** Discovery, asked again when a group disappears while it is read (a CRD being deleted). */
async function servedResources(client: KubeClient): Promise<ServedResource[]> {
  for (let attempt = 1;; attempt++) {
    try {
      return await client.discovery.serverResources();
    } catch (error) {
      if (!isNotFound(error) || attempt === 5) throw error;
    }
  }
}
