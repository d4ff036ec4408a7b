// Object shapes shared by every client module, so requests, watches and resource clients agree on one name per concept.
import type { ObjectMeta } from "kubernetes-types/meta/v1.d.ts";

export type { ObjectMeta, Status, StatusCause } from "kubernetes-types/meta/v1.d.ts";

/** The fields every Kubernetes object has; typed kinds from `kubernetes-types` (interfaces) satisfy it. */
export interface KubeObjectBase {
  /** `group/version` or `v1`. */
  apiVersion?: string;
  /** The object's kind, e.g. `Namespace`. */
  kind?: string;
  /** Standard object metadata. */
  metadata?: ObjectMeta;
}

/** An untyped Kubernetes object, e.g. a custom resource found through discovery. */
export interface KubeObject extends KubeObjectBase {
  /** Kind-specific fields (spec, status, data, ...). */
  [key: string]: unknown;
}

/** A complete list of objects and the resourceVersion to watch from. */
export interface ObjectList<T extends KubeObjectBase> {
  /** Every object, gathered across all pages. */
  items: T[];
  /** The list's `metadata.resourceVersion`. */
  resourceVersion: string;
}
