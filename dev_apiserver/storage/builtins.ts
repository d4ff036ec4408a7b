// The built-in kinds the dev API server serves from the start, with kube's names, verbs and scopes.
import { ALL_VERBS, type ResourceInfo } from "./resources.ts";

type Builtin =
  & Pick<ResourceInfo, "group" | "version" | "resource" | "kind" | "namespaced">
  & Partial<ResourceInfo>;

function str(value: unknown): string {
  return typeof value === "string"
    ? value
    : value === undefined || value === null
    ? ""
    : String(value);
}

function sub(object: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = object[key];
  return value && typeof value === "object" ? value as Record<string, unknown> : {};
}

/** Field selector fields of core/v1 events (kubectl describe uses `involvedObject.*`). */
function eventFields(object: Record<string, unknown>): Record<string, string> {
  const involved = sub(object, "involvedObject");
  const source = sub(object, "source");
  return {
    "involvedObject.kind": str(involved.kind),
    "involvedObject.namespace": str(involved.namespace),
    "involvedObject.name": str(involved.name),
    "involvedObject.uid": str(involved.uid),
    "involvedObject.apiVersion": str(involved.apiVersion),
    "involvedObject.resourceVersion": str(involved.resourceVersion),
    "involvedObject.fieldPath": str(involved.fieldPath),
    "reason": str(object.reason),
    "reportingComponent": str(object.reportingComponent),
    "source": str(source.component),
    "type": str(object.type),
  };
}

/** Field selector fields of events.k8s.io/v1 events. */
function eventsV1Fields(object: Record<string, unknown>): Record<string, string> {
  const regarding = sub(object, "regarding");
  const source = sub(object, "deprecatedSource");
  return {
    "regarding.kind": str(regarding.kind),
    "regarding.namespace": str(regarding.namespace),
    "regarding.name": str(regarding.name),
    "regarding.uid": str(regarding.uid),
    "regarding.apiVersion": str(regarding.apiVersion),
    "regarding.resourceVersion": str(regarding.resourceVersion),
    "regarding.fieldPath": str(regarding.fieldPath),
    "reason": str(object.reason),
    "reportingController": str(object.reportingController),
    "deprecatedSource": str(source.component),
    "type": str(object.type),
  };
}

const BUILTINS: Builtin[] = [
  {
    group: "",
    version: "v1",
    resource: "namespaces",
    kind: "Namespace",
    namespaced: false,
    shortNames: ["ns"],
    nameRule: "label",
    statusSubresource: true,
    returnDeletedObject: true,
    verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
    fields: (o) => ({ "status.phase": str(sub(o, "status").phase) }),
  },
  {
    group: "",
    version: "v1",
    resource: "events",
    kind: "Event",
    namespaced: true,
    shortNames: ["ev"],
    fields: eventFields,
  },
  {
    group: "",
    version: "v1",
    resource: "configmaps",
    kind: "ConfigMap",
    namespaced: true,
    shortNames: ["cm"],
  },
  {
    group: "",
    version: "v1",
    resource: "secrets",
    kind: "Secret",
    namespaced: true,
    fields: (o) => ({ type: str(o.type) }),
  },
  {
    group: "",
    version: "v1",
    resource: "serviceaccounts",
    kind: "ServiceAccount",
    namespaced: true,
    shortNames: ["sa"],
    returnDeletedObject: true,
  },
  {
    group: "",
    version: "v1",
    resource: "resourcequotas",
    kind: "ResourceQuota",
    namespaced: true,
    shortNames: ["quota"],
    statusSubresource: true,
    returnDeletedObject: true,
  },
  {
    group: "",
    version: "v1",
    resource: "limitranges",
    kind: "LimitRange",
    namespaced: true,
    shortNames: ["limits"],
  },
  {
    group: "events.k8s.io",
    version: "v1",
    resource: "events",
    kind: "Event",
    namespaced: true,
    shortNames: ["ev"],
    fields: eventsV1Fields,
  },
  {
    group: "networking.k8s.io",
    version: "v1",
    resource: "networkpolicies",
    kind: "NetworkPolicy",
    namespaced: true,
    shortNames: ["netpol"],
    generation: true,
  },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resource: "roles",
    kind: "Role",
    namespaced: true,
    nameRule: "path",
  },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resource: "rolebindings",
    kind: "RoleBinding",
    namespaced: true,
    nameRule: "path",
  },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resource: "clusterroles",
    kind: "ClusterRole",
    namespaced: false,
    nameRule: "path",
  },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resource: "clusterrolebindings",
    kind: "ClusterRoleBinding",
    namespaced: false,
    nameRule: "path",
  },
  {
    group: "coordination.k8s.io",
    version: "v1",
    resource: "leases",
    kind: "Lease",
    namespaced: true,
  },
  {
    group: "admissionregistration.k8s.io",
    version: "v1",
    resource: "validatingadmissionpolicies",
    kind: "ValidatingAdmissionPolicy",
    namespaced: false,
    categories: ["api-extensions"],
    statusSubresource: true,
    generation: true,
  },
  {
    group: "admissionregistration.k8s.io",
    version: "v1",
    resource: "validatingadmissionpolicybindings",
    kind: "ValidatingAdmissionPolicyBinding",
    namespaced: false,
    categories: ["api-extensions"],
    generation: true,
  },
  {
    group: "authentication.k8s.io",
    version: "v1",
    resource: "tokenreviews",
    kind: "TokenReview",
    namespaced: false,
    verbs: ["create"],
  },
  {
    group: "authorization.k8s.io",
    version: "v1",
    resource: "subjectaccessreviews",
    kind: "SubjectAccessReview",
    namespaced: false,
    verbs: ["create"],
  },
  {
    group: "apiextensions.k8s.io",
    version: "v1",
    resource: "customresourcedefinitions",
    kind: "CustomResourceDefinition",
    namespaced: false,
    shortNames: ["crd", "crds"],
    categories: ["api-extensions"],
    statusSubresource: true,
    generation: true,
  },
];

/** The built-in resources, fully described. */
export function builtinResources(): ResourceInfo[] {
  return BUILTINS.map((b) => ({
    singular: b.kind.toLowerCase(),
    listKind: `${b.kind}List`,
    shortNames: [],
    categories: [],
    verbs: ALL_VERBS,
    statusSubresource: false,
    generation: false,
    nameRule: "subdomain",
    ...b,
  }));
}
