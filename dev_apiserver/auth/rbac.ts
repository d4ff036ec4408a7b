// RBAC authorization decided the way kube-apiserver's RBAC authorizer decides it, so tests prove
// that the roles in deploy/ grant the operator exactly what it uses.
import type {
  ClusterRole,
  ClusterRoleBinding,
  PolicyRule,
  Role,
  RoleBinding,
  Subject,
} from "kubernetes-types/rbac/v1.d.ts";
import { isObject } from "../storage/objects.ts";
import { type ErrorTarget, forbidden, type StatusDetails } from "../http/status.ts";
import type { Identity, KubeObject } from "../types.ts";

/**
 * What a request asks to do, as kube-apiserver's request info describes it. Resource requests
 * name `resource` (plural) and `apiGroup` ("" for core); non-resource requests set
 * `nonResourcePath` and use the lower-case HTTP method as `verb`.
 */
export interface AuthorizationRequest {
  /** get, list, watch, create, update, patch, delete, deletecollection (or an HTTP method). */
  verb: string;
  /** API group, "" for the core group. */
  apiGroup: string;
  /** Resource plural, e.g. "tenants". */
  resource: string;
  /** Subresource, e.g. "status". */
  subresource?: string;
  /** Namespace of the request; empty or absent for cluster-scoped and all-namespace requests. */
  namespace?: string;
  /** Object name (absent for list, watch without a name, and create). */
  name?: string;
  /** Path of a non-resource request, e.g. "/version". */
  nonResourcePath?: string;
}

/** The RBAC objects an authorization decision reads. */
export interface RbacObjects {
  /** Namespaced Roles. */
  roles: Role[];
  /** ClusterRoles (`aggregationRule` is ignored: only `rules` count, as filled in by kube's aggregation controller). */
  clusterRoles: ClusterRole[];
  /** Namespaced RoleBindings. */
  roleBindings: RoleBinding[];
  /** ClusterRoleBindings. */
  clusterRoleBindings: ClusterRoleBinding[];
}

/** An authorization decision; `reason` is the 403 message when denied, the granting binding when allowed. */
export interface Decision {
  /** True when some bound rule grants the request. */
  allowed: boolean;
  /** Denied: kube's full Forbidden message. Allowed: `RBAC: allowed by ...` as kube logs it. */
  reason: string;
  /**
   * What the RBAC authorizer itself reports, as a SubjectAccessReview's `status.reason` shows it:
   * the granting binding when allowed; when denied, `RBAC: <errors>` for dangling bindings, else "".
   */
  rbacReason: string;
}

/** The user name kube gives a service account's tokens. */
function serviceAccountUsername(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/** The identity kube authenticates a service account token as (user name and groups). */
export function serviceAccountIdentity(namespace: string, name: string): Identity {
  return {
    username: serviceAccountUsername(namespace, name),
    groups: [
      "system:serviceaccounts",
      `system:serviceaccounts:${namespace}`,
      "system:authenticated",
    ],
  };
}

const isStringList = (value: unknown) =>
  value === undefined || (Array.isArray(value) && value.every((v) => typeof v === "string"));

function wellFormedRules(object: KubeObject): boolean {
  const rules = object.rules;
  return rules === undefined ||
    (Array.isArray(rules) &&
      rules.every((rule) =>
        isObject(rule) && Array.isArray(rule.verbs) && isStringList(rule.verbs) &&
        isStringList(rule.apiGroups) && isStringList(rule.resources) &&
        isStringList(rule.resourceNames) && isStringList(rule.nonResourceURLs)
      ));
}

function wellFormedBinding(object: KubeObject): boolean {
  const { roleRef, subjects } = object;
  return isObject(roleRef) && typeof roleRef.kind === "string" &&
    typeof roleRef.name === "string" &&
    (subjects === undefined ||
      (Array.isArray(subjects) &&
        subjects.every((subject) =>
          isObject(subject) && typeof subject.kind === "string" && typeof subject.name === "string"
        )));
}

/**
 * Sorts arbitrary objects (e.g. rendered `deploy/` or the server's store) into the RBAC objects.
 * Other kinds are skipped, and so are malformed RBAC objects (a real API server would have
 * rejected them), which fails closed: they grant nothing.
 */
export function rbacObjectsFrom(objects: Iterable<KubeObject>): RbacObjects {
  const rbac: RbacObjects = {
    roles: [],
    clusterRoles: [],
    roleBindings: [],
    clusterRoleBindings: [],
  };
  for (const object of objects) {
    if (object.apiVersion !== "rbac.authorization.k8s.io/v1") continue;
    const role = wellFormedRules(object) ? object as unknown : undefined;
    const binding = wellFormedBinding(object) ? object as unknown : undefined;
    if (object.kind === "Role" && role) rbac.roles.push(role as Role);
    if (object.kind === "ClusterRole" && role) rbac.clusterRoles.push(role as ClusterRole);
    if (object.kind === "RoleBinding" && binding) rbac.roleBindings.push(binding as RoleBinding);
    if (object.kind === "ClusterRoleBinding" && binding) {
      rbac.clusterRoleBindings.push(binding as ClusterRoleBinding);
    }
  }
  return rbac;
}

const has = (list: string[] | undefined, value: string) =>
  (list ?? []).some((item) => item === "*" || item === value);

function resourceMatches(rule: PolicyRule, request: AuthorizationRequest): boolean {
  const sub = request.subresource ?? "";
  const combined = sub ? `${request.resource}/${sub}` : request.resource;
  return (rule.resources ?? []).some((resource) =>
    resource === "*" || resource === combined || (sub !== "" && resource === `*/${sub}`)
  );
}

function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  return (rule.nonResourceURLs ?? []).some((url) =>
    url === "*" || url === path || (url.endsWith("*") && path.startsWith(url.slice(0, -1)))
  );
}

/** Whether one rule grants the request, with kube's matching: `*`, `resource/sub`, `*` + `/sub`, resourceNames. */
export function ruleAllows(rule: PolicyRule, request: AuthorizationRequest): boolean {
  if (!has(rule.verbs, request.verb)) return false;
  if (request.nonResourcePath !== undefined) {
    return nonResourceURLMatches(rule, request.nonResourcePath);
  }
  if (!has(rule.apiGroups, request.apiGroup) || !resourceMatches(rule, request)) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(request.name ?? "");
}

function subjectMatches(subject: Subject, identity: Identity, bindingNamespace: string): boolean {
  if (subject.kind === "User") return subject.name === identity.username;
  if (subject.kind === "Group") return identity.groups.includes(subject.name);
  if (subject.kind === "ServiceAccount") {
    const namespace = subject.namespace || bindingNamespace;
    return namespace !== "" &&
      serviceAccountUsername(namespace, subject.name) === identity.username;
  }
  return false;
}

function describeSubject(subject: Subject, bindingNamespace: string): string {
  if (subject.kind !== "ServiceAccount") return `${subject.kind} ${JSON.stringify(subject.name)}`;
  const where = subject.namespace || bindingNamespace;
  return `${subject.kind} ${JSON.stringify(`${subject.name}/${where}`)}`;
}

interface Grant {
  bindingKind: "ClusterRoleBinding" | "RoleBinding";
  binding: ClusterRoleBinding | RoleBinding;
  namespace: string;
}

/**
 * Decides a request as kube's RBAC authorizer: ClusterRoleBindings apply everywhere, RoleBindings
 * (to a Role of their namespace or to a ClusterRole) only to requests in their namespace, and
 * non-resource URLs only through ClusterRoleBindings. Denials carry kube's Forbidden message,
 * including `RBAC: clusterrole.rbac.authorization.k8s.io "x" not found` for dangling bindings.
 */
export function authorize(
  identity: Identity,
  request: AuthorizationRequest,
  rbac: RbacObjects,
): Decision {
  const namespace = request.nonResourcePath === undefined ? request.namespace ?? "" : "";
  const grants: Grant[] = rbac.clusterRoleBindings.map((binding) => ({
    bindingKind: "ClusterRoleBinding",
    binding,
    namespace: "",
  }));
  if (namespace !== "") {
    for (const binding of rbac.roleBindings) {
      if (binding.metadata?.namespace === namespace) {
        grants.push({ bindingKind: "RoleBinding", binding, namespace });
      }
    }
  }
  const errors: string[] = [];
  for (const { bindingKind, binding, namespace: bindingNamespace } of grants) {
    const subject = (binding.subjects ?? []).find((s) =>
      subjectMatches(s, identity, bindingNamespace)
    );
    if (!subject) continue;
    const ref = binding.roleRef;
    const role = ref.kind === "ClusterRole"
      ? rbac.clusterRoles.find((r) => r.metadata?.name === ref.name)
      : ref.kind === "Role" && bindingKind === "RoleBinding"
      ? rbac.roles.find((r) => r.metadata?.name === ref.name && r.metadata?.namespace === namespace)
      : undefined;
    if (!role) {
      errors.push(
        ref.kind === "ClusterRole" || ref.kind === "Role"
          ? `${ref.kind.toLowerCase()}.rbac.authorization.k8s.io "${ref.name}" not found`
          : `unsupported role reference kind: ${JSON.stringify(ref.kind)}`,
      );
      continue;
    }
    if ((role.rules ?? []).some((rule) => ruleAllows(rule, request))) {
      const bindingName = bindingKind === "RoleBinding"
        ? `${binding.metadata?.name}/${bindingNamespace}`
        : binding.metadata?.name ?? "";
      const reason = `RBAC: allowed by ${bindingKind} ${
        JSON.stringify(bindingName)
      } of ${ref.kind} ${JSON.stringify(ref.name)} to ${
        describeSubject(subject, bindingNamespace)
      }`;
      return { allowed: true, reason, rbacReason: reason };
    }
  }
  const why = errors.length === 0
    ? ""
    : `RBAC: ${errors.length === 1 ? errors[0] : `[${errors.join(", ")}]`}`;
  return { allowed: false, reason: forbiddenMessage(identity, request, why), rbacReason: why };
}

/**
 * kube-apiserver's 403 message: `namespaces is forbidden: User "u" cannot create resource
 * "namespaces" in API group "" at the cluster scope`, `... in the namespace "x"`, or
 * `forbidden: User "u" cannot get path "/x"`; `why` (if any) is appended after a colon.
 */
export function forbiddenMessage(
  identity: Identity,
  request: AuthorizationRequest,
  why = "",
): string {
  const user = JSON.stringify(identity.username);
  let message: string;
  if (request.nonResourcePath !== undefined) {
    message = `User ${user} cannot ${request.verb} path ${JSON.stringify(request.nonResourcePath)}`;
  } else {
    const resource = request.subresource
      ? `${request.resource}/${request.subresource}`
      : request.resource;
    const scope = request.namespace
      ? `in the namespace ${JSON.stringify(request.namespace)}`
      : "at the cluster scope";
    message = `User ${user} cannot ${request.verb} resource ${
      JSON.stringify(resource)
    } in API group ${JSON.stringify(request.apiGroup)} ${scope}`;
  }
  return forbidden(forbiddenTarget(request), `${message}${why ? `: ${why}` : ""}`).message;
}

/** The `details` of kube's Forbidden Status for a request: group, resource as kind, name. */
export function forbiddenDetails(request: AuthorizationRequest): StatusDetails {
  return forbidden(forbiddenTarget(request), "").details ?? {};
}

/** What a Forbidden answer names: the resource and object, nothing for non-resource paths. */
function forbiddenTarget(request: AuthorizationRequest): ErrorTarget | undefined {
  if (request.nonResourcePath !== undefined) return undefined;
  return { group: request.apiGroup, resource: request.resource, name: request.name };
}

/**
 * The non-resource paths every authenticated user may GET through kube's default ClusterRoles
 * system:discovery and system:public-info-viewer (bound to system:authenticated).
 */
const DISCOVERY_URLS: readonly string[] = [
  "/api",
  "/api/*",
  "/apis",
  "/apis/*",
  "/healthz",
  "/livez",
  "/openapi",
  "/openapi/*",
  "/readyz",
  "/version",
  "/version/",
];

/**
 * True when kube's default policy lets any authenticated user do `verb` on the non-resource
 * `path`: only `get` of discovery, version and health paths.
 */
export function discoveryAllowed(path: string, verb: string): boolean {
  return ruleAllows(
    { verbs: ["get"], nonResourceURLs: [...DISCOVERY_URLS] },
    { verb, apiGroup: "", resource: "", nonResourcePath: path },
  );
}

/** The key {@linkcode grantedPermissions} uses: `verb group/resource`, e.g. `patch kleff.kleff.io/tenants/status`. */
export function permissionKey(verb: string, apiGroup: string, resource: string): string {
  return `${verb} ${apiGroup}/${resource}`;
}

/**
 * Every `verb group/resource` the rules grant (resource includes `/subresource`). Wildcards stay
 * literal (a `*` verb, group or resource is kept as `*`), resourceNames restrictions are not represented, non-resource rules are skipped.
 */
export function grantedPermissions(rules: Iterable<PolicyRule>): Set<string> {
  const granted = new Set<string>();
  for (const rule of rules) {
    for (const verb of rule.verbs ?? []) {
      for (const group of rule.apiGroups ?? []) {
        for (const resource of rule.resources ?? []) {
          granted.add(permissionKey(verb, group, resource));
        }
      }
    }
  }
  return granted;
}
