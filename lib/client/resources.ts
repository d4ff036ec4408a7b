// Descriptors of the built-in kinds the operator uses, one place for their group, version and plural.
import type { ResourceDescriptor } from "./resource.ts";

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
