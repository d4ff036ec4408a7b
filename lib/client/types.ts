// Object shapes shared by every client module, so requests, watches and resource clients agree on one name per concept.
import type { ObjectMeta } from "kubernetes-types/meta/v1.d.ts";

export type { ObjectMeta, Status, StatusCause } from "kubernetes-types/meta/v1.d.ts";

/** Any Kubernetes object: typed kinds from `kubernetes-types` and untyped custom resources alike. */
export interface KubeObject {
  /** `group/version` or `v1`. */
  apiVersion?: string;
  /** The object's kind, e.g. `Namespace`. */
  kind?: string;
  /** Standard object metadata. */
  metadata?: ObjectMeta;
  /** Kind-specific fields (spec, status, data, ...). */
  [key: string]: unknown;
}

/** A complete list of objects and the resourceVersion to watch from. */
export interface ObjectList<T extends KubeObject> {
  /** Every object, gathered across all pages. */
  items: T[];
  /** The list's `metadata.resourceVersion`. */
  resourceVersion: string;
}
