// The description of one served resource (built-in or from a CRD) and the registry that serves them.
import type { JSONSchemaProps } from "kubernetes-types/apiextensions/v1.d.ts";
import type { PrinterColumn } from "../tables/table.ts";

/** Everything the server needs to know to serve one resource in one group/version. */
export interface ResourceInfo {
  group: string;
  version: string;
  /** Plural resource name, e.g. "tenants". */
  resource: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** Has a `/status` subresource with kube's split semantics. */
  statusSubresource: boolean;
  /** `metadata.generation` is maintained (bumps on changes outside metadata and status). */
  generation: boolean;
  /** Names must be DNS-1123 labels ("label"), subdomains ("subdomain") or path segments ("path"). */
  nameRule: "label" | "subdomain" | "path";
  /** Structural schema for CRD-served resources. */
  schema?: JSONSchemaProps;
  printerColumns?: PrinterColumn[];
  /** Set for resources served from a CustomResourceDefinition (its name). */
  crd?: string;
  /**
   * DELETE answers with the deleted object (kube's `ReturnDeletedObject`: namespaces, service
   * accounts, resource quotas) instead of a `Status` Success.
   */
  returnDeletedObject?: boolean;
  /** Field selector fields beyond metadata.name/metadata.namespace. */
  fields?: (object: Record<string, unknown>) => Record<string, string>;
}

/** All verbs of a normal resource. */
export const ALL_VERBS = [
  "create",
  "delete",
  "deletecollection",
  "get",
  "list",
  "patch",
  "update",
  "watch",
];

/** Storage key of namespaces. */
export const NAMESPACES = "/namespaces";
/** Storage key of CustomResourceDefinitions. */
export const CRDS = "apiextensions.k8s.io/customresourcedefinitions";

/** `group/version` or `version` for the core group. */
export function groupVersion(info: { group: string; version: string }): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

/** The storage key of a resource independent of version: `group/resource`. */
export function resourceKey(info: { group: string; resource: string }): string {
  return `${info.group}/${info.resource}`;
}

/** The served resources, indexed by group/version/plural. */
export class ResourceRegistry {
  #byPath = new Map<string, ResourceInfo>();
  #listeners: (() => void)[] = [];

  /** Serves a resource (replacing any with the same group/version/plural). */
  add(info: ResourceInfo): void {
    this.#byPath.set(`${groupVersion(info)}/${info.resource}`, info);
    this.#changed();
  }

  /** Stops serving every version of the resources a CRD defined. */
  removeCrd(crdName: string): void {
    for (const [path, info] of this.#byPath) {
      if (info.crd === crdName) this.#byPath.delete(path);
    }
    this.#changed();
  }

  /** The resource served under `group/version` with this plural, if any. */
  lookup(group: string, version: string, resource: string): ResourceInfo | undefined {
    return this.#byPath.get(`${group ? `${group}/${version}` : version}/${resource}`);
  }

  /** Whether any resource is served under `group/version`. */
  servesGroupVersion(group: string, version: string): boolean {
    return this.all().some((info) => info.group === group && info.version === version);
  }

  /** Every served resource, in registration order. */
  all(): ResourceInfo[] {
    return [...this.#byPath.values()];
  }

  /** The served versions of one storage key (group/resource). */
  versionsOf(key: string): ResourceInfo[] {
    return this.all().filter((info) => resourceKey(info) === key);
  }

  /** Calls `listener` whenever the set of served resources changes. */
  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }
}
