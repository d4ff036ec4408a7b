// How the operator names a served kind (group, version, plural, kind, scope), and the built-in
// kinds it uses, and the shape every object has: plain data shared by the pure decisions and the
// client, with no I/O.
import type { ObjectMeta } from "kubernetes-types/meta/v1.d.ts";

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

/** Identifies a served kind: where it lives and whether it is namespaced. */
export interface ResourceDescriptor {
  /** API group, "" for the core group. */
  group: string;
  /** Version, e.g. `v1`. */
  version: string;
  /** Plural resource name, e.g. `namespaces`. */
  plural: string;
  /** Kind, e.g. `Namespace`. */
  kind: string;
  /** Whether objects live in namespaces. */
  namespaced: boolean;
}

/** core/v1 Namespace. */
export const namespaces: ResourceDescriptor = {
  group: "",
  version: "v1",
  plural: "namespaces",
  kind: "Namespace",
  namespaced: false,
};
/** core/v1 ResourceQuota. */
export const resourceQuotas: ResourceDescriptor = {
  group: "",
  version: "v1",
  plural: "resourcequotas",
  kind: "ResourceQuota",
  namespaced: true,
};
/** core/v1 LimitRange. */
export const limitRanges: ResourceDescriptor = {
  group: "",
  version: "v1",
  plural: "limitranges",
  kind: "LimitRange",
  namespaced: true,
};
/** core/v1 ConfigMap. */
export const configMaps: ResourceDescriptor = {
  group: "",
  version: "v1",
  plural: "configmaps",
  kind: "ConfigMap",
  namespaced: true,
};
/** core/v1 Event. */
export const events: ResourceDescriptor = {
  group: "",
  version: "v1",
  plural: "events",
  kind: "Event",
  namespaced: true,
};
/** networking.k8s.io/v1 NetworkPolicy. */
export const networkPolicies: ResourceDescriptor = {
  group: "networking.k8s.io",
  version: "v1",
  plural: "networkpolicies",
  kind: "NetworkPolicy",
  namespaced: true,
};
/** coordination.k8s.io/v1 Lease. */
export const leases: ResourceDescriptor = {
  group: "coordination.k8s.io",
  version: "v1",
  plural: "leases",
  kind: "Lease",
  namespaced: true,
};
/** apiextensions.k8s.io/v1 CustomResourceDefinition. */
export const customResourceDefinitions: ResourceDescriptor = {
  group: "apiextensions.k8s.io",
  version: "v1",
  plural: "customresourcedefinitions",
  kind: "CustomResourceDefinition",
  namespaced: false,
};
