// Object shapes shared by every client module, so requests, watches and resource clients agree on one name per concept.
import type { KubeObjectBase } from "../api/mod.ts";

export type { KubeObject, KubeObjectBase } from "../api/mod.ts";
export type { ObjectMeta, Status, StatusCause } from "kubernetes-types/meta/v1.d.ts";

/** A complete list of objects and the resourceVersion to watch from. */
export interface ObjectList<T extends KubeObjectBase> {
  /** Every object, gathered across all pages. */
  items: T[];
  /** The list's `metadata.resourceVersion`. */
  resourceVersion: string;
}
