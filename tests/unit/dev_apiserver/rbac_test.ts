// Table-driven tests of the RBAC authorizer: kube's rule matching, binding scopes, subjects,
// denial messages, and the roles shipped in deploy/ granting the operator what it needs.
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import {
  type AuthorizationRequest,
  authorize,
  discoveryAllowed,
  forbiddenDetails,
  forbiddenMessage,
  grantedPermissions,
  type RbacObjects,
  rbacObjectsFrom,
  ruleAllows,
  serviceAccountIdentity,
} from "../../../dev_apiserver/auth/rbac.ts";
import type { Identity, KubeObject } from "../../../dev_apiserver/types.ts";
import type { PolicyRule } from "kubernetes-types/rbac/v1.d.ts";

const RBAC_V1 = "rbac.authorization.k8s.io/v1";
const OPERATOR = serviceAccountIdentity("kleff-system", "kleff-tenant-operator");
const ALICE: Identity = { username: "alice", groups: ["devs", "system:authenticated"] };

const req = (
  verb: string,
  apiGroup: string,
  resource: string,
  extra: Partial<AuthorizationRequest> = {},
): AuthorizationRequest => ({ verb, apiGroup, resource, ...extra });

Deno.test("ruleAllows matches verbs, groups, resources, subresources and names like kube", () => {
  const cases: [string, PolicyRule, AuthorizationRequest, boolean][] = [
    [
      "exact",
      { verbs: ["get"], apiGroups: [""], resources: ["pods"] },
      req("get", "", "pods"),
      true,
    ],
    [
      "other verb",
      { verbs: ["get"], apiGroups: [""], resources: ["pods"] },
      req("list", "", "pods"),
      false,
    ],
    [
      "verb *",
      { verbs: ["*"], apiGroups: [""], resources: ["pods"] },
      req("delete", "", "pods"),
      true,
    ],
    [
      "other group",
      { verbs: ["get"], apiGroups: ["apps"], resources: ["pods"] },
      req("get", "", "pods"),
      false,
    ],
    [
      "group *",
      { verbs: ["get"], apiGroups: ["*"], resources: ["pods"] },
      req("get", "x.io", "pods"),
      true,
    ],
    [
      "resource *",
      { verbs: ["get"], apiGroups: [""], resources: ["*"] },
      req("get", "", "pods"),
      true,
    ],
    [
      "resource * covers subresources",
      { verbs: ["get"], apiGroups: [""], resources: ["*"] },
      req("get", "", "pods", { subresource: "log" }),
      true,
    ],
    [
      "resource does not cover its subresource",
      { verbs: ["patch"], apiGroups: ["k.io"], resources: ["tenants"] },
      req("patch", "k.io", "tenants", { subresource: "status" }),
      false,
    ],
    [
      "subresource only",
      { verbs: ["patch"], apiGroups: ["k.io"], resources: ["tenants/status"] },
      req("patch", "k.io", "tenants"),
      false,
    ],
    [
      "resource/subresource",
      { verbs: ["patch"], apiGroups: ["k.io"], resources: ["tenants/status"] },
      req("patch", "k.io", "tenants", { subresource: "status" }),
      true,
    ],
    [
      "*/subresource",
      { verbs: ["get"], apiGroups: ["apps"], resources: ["*/scale"] },
      req("get", "apps", "deployments", { subresource: "scale" }),
      true,
    ],
    [
      "*/subresource not the resource",
      { verbs: ["get"], apiGroups: ["apps"], resources: ["*/scale"] },
      req("get", "apps", "deployments"),
      false,
    ],
    [
      "resource/* is not a wildcard",
      { verbs: ["get"], apiGroups: [""], resources: ["pods/*"] },
      req("get", "", "pods", { subresource: "log" }),
      false,
    ],
    [
      "resourceNames match",
      { verbs: ["get"], apiGroups: [""], resources: ["configmaps"], resourceNames: ["plans"] },
      req("get", "", "configmaps", { name: "plans" }),
      true,
    ],
    [
      "resourceNames other name",
      { verbs: ["get"], apiGroups: [""], resources: ["configmaps"], resourceNames: ["plans"] },
      req("get", "", "configmaps", { name: "other" }),
      false,
    ],
    [
      "resourceNames never allow unnamed list",
      { verbs: ["list"], apiGroups: [""], resources: ["configmaps"], resourceNames: ["plans"] },
      req("list", "", "configmaps"),
      false,
    ],
    [
      "resourceNames never allow create",
      { verbs: ["create"], apiGroups: [""], resources: ["configmaps"], resourceNames: ["plans"] },
      req("create", "", "configmaps"),
      false,
    ],
    [
      "non-resource exact",
      { verbs: ["get"], nonResourceURLs: ["/version"] },
      req("get", "", "", { nonResourcePath: "/version" }),
      true,
    ],
    [
      "non-resource prefix *",
      { verbs: ["get"], nonResourceURLs: ["/apis/*"] },
      req("get", "", "", { nonResourcePath: "/apis/apps/v1" }),
      true,
    ],
    [
      "non-resource no prefix without *",
      { verbs: ["get"], nonResourceURLs: ["/apis"] },
      req("get", "", "", { nonResourcePath: "/apis/apps" }),
      false,
    ],
    [
      "non-resource *",
      { verbs: ["get"], nonResourceURLs: ["*"] },
      req("get", "", "", { nonResourcePath: "/metrics" }),
      true,
    ],
    [
      "non-resource verb",
      { verbs: ["get"], nonResourceURLs: ["/metrics"] },
      req("post", "", "", { nonResourcePath: "/metrics" }),
      false,
    ],
    [
      "resource rule never grants a path",
      { verbs: ["*"], apiGroups: ["*"], resources: ["*"] },
      req("get", "", "", { nonResourcePath: "/metrics" }),
      false,
    ],
    [
      "path rule never grants a resource",
      { verbs: ["*"], nonResourceURLs: ["*"] },
      req("get", "", "pods"),
      false,
    ],
  ];
  for (const [name, rule, request, expected] of cases) {
    assert.equal(ruleAllows(rule, request), expected, name);
  }
});

const FIXTURE: RbacObjects = rbacObjectsFrom([
  {
    apiVersion: RBAC_V1,
    kind: "ClusterRole",
    metadata: { name: "ns-reader" },
    rules: [{ verbs: ["get", "list"], apiGroups: [""], resources: ["namespaces", "configmaps"] }],
  },
  {
    apiVersion: RBAC_V1,
    kind: "ClusterRole",
    metadata: { name: "metrics" },
    rules: [{ verbs: ["get"], nonResourceURLs: ["/metrics"] }],
  },
  {
    apiVersion: RBAC_V1,
    kind: "Role",
    metadata: { name: "cm-writer", namespace: "team-a" },
    rules: [{ verbs: ["create"], apiGroups: [""], resources: ["configmaps"] }],
  },
  {
    apiVersion: RBAC_V1,
    kind: "Role",
    metadata: { name: "cm-writer", namespace: "team-b" },
    rules: [{ verbs: ["delete"], apiGroups: [""], resources: ["configmaps"] }],
  },
  {
    apiVersion: RBAC_V1,
    kind: "ClusterRoleBinding",
    metadata: { name: "alice-ns" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "ns-reader" },
    subjects: [{ kind: "User", name: "alice" }],
  },
  {
    apiVersion: RBAC_V1,
    kind: "ClusterRoleBinding",
    metadata: { name: "sa-metrics" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "metrics" },
    subjects: [{ kind: "Group", name: "system:serviceaccounts:kleff-system" }],
  },
  {
    apiVersion: RBAC_V1,
    kind: "RoleBinding",
    metadata: { name: "devs-cm", namespace: "team-a" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "cm-writer" },
    subjects: [{ kind: "Group", name: "devs" }],
  },
  {
    apiVersion: RBAC_V1,
    kind: "RoleBinding",
    metadata: { name: "op-read", namespace: "team-b" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "ns-reader" },
    subjects: [{
      kind: "ServiceAccount",
      name: "kleff-tenant-operator",
      namespace: "kleff-system",
    }],
  },
  {
    apiVersion: RBAC_V1,
    kind: "RoleBinding",
    metadata: { name: "local-sa", namespace: "team-b" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "cm-writer" },
    subjects: [{ kind: "ServiceAccount", name: "builder" }],
  },
  {
    apiVersion: RBAC_V1,
    kind: "RoleBinding",
    metadata: { name: "dangling", namespace: "team-c" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "gone" },
    subjects: [{ kind: "Group", name: "devs" }],
  },
  {
    apiVersion: RBAC_V1,
    kind: "RoleBinding",
    metadata: { name: "broken", namespace: "team-a" },
    subjects: [{ kind: "Group", name: "devs" }],
  },
  { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "not-rbac" } },
]);

Deno.test("authorize applies binding scopes and subjects like kube", () => {
  const builder = serviceAccountIdentity("team-b", "builder");
  const cases: [string, Identity, AuthorizationRequest, boolean][] = [
    ["ClusterRoleBinding at cluster scope", ALICE, req("list", "", "namespaces"), true],
    [
      "ClusterRoleBinding in any namespace",
      ALICE,
      req("get", "", "configmaps", { namespace: "x", name: "c" }),
      true,
    ],
    ["verb not granted", ALICE, req("delete", "", "namespaces", { name: "n" }), false],
    [
      "Group subject via RoleBinding",
      ALICE,
      req("create", "", "configmaps", { namespace: "team-a" }),
      true,
    ],
    [
      "RoleBinding only in its namespace",
      ALICE,
      req("create", "", "configmaps", { namespace: "team-b" }),
      false,
    ],
    ["RoleBinding never at cluster scope", ALICE, req("create", "", "configmaps"), false],
    [
      "ClusterRole via RoleBinding: that namespace",
      OPERATOR,
      req("list", "", "configmaps", { namespace: "team-b" }),
      true,
    ],
    [
      "ClusterRole via RoleBinding: not elsewhere",
      OPERATOR,
      req("list", "", "configmaps", { namespace: "team-a" }),
      false,
    ],
    [
      "ClusterRole via RoleBinding: not cluster-wide",
      OPERATOR,
      req("list", "", "namespaces"),
      false,
    ],
    [
      "ServiceAccount subject defaults to the binding's namespace",
      builder,
      req("delete", "", "configmaps", { namespace: "team-b", name: "c" }),
      true,
    ],
    [
      "same SA name in another namespace",
      serviceAccountIdentity("team-a", "builder"),
      req("delete", "", "configmaps", { namespace: "team-b", name: "c" }),
      false,
    ],
    [
      "group system:serviceaccounts:<ns>",
      OPERATOR,
      req("get", "", "", { nonResourcePath: "/metrics" }),
      true,
    ],
    [
      "non-resource not via groups of others",
      ALICE,
      req("get", "", "", { nonResourcePath: "/metrics" }),
      false,
    ],
    [
      "User subject is not a group",
      { username: "devs", groups: [] },
      req("create", "", "configmaps", { namespace: "team-a" }),
      false,
    ],
  ];
  for (const [name, identity, request, expected] of cases) {
    assert.equal(authorize(identity, request, FIXTURE).allowed, expected, name);
  }
});

Deno.test("authorize words decisions like kube-apiserver", () => {
  const cases: [Identity, AuthorizationRequest, string][] = [
    [
      OPERATOR,
      req("create", "", "namespaces"),
      'namespaces is forbidden: User "system:serviceaccount:kleff-system:kleff-tenant-operator" cannot create resource "namespaces" in API group "" at the cluster scope',
    ],
    [
      OPERATOR,
      req("delete", "", "configmaps", { namespace: "x", name: "plans" }),
      'configmaps "plans" is forbidden: User "system:serviceaccount:kleff-system:kleff-tenant-operator" cannot delete resource "configmaps" in API group "" in the namespace "x"',
    ],
    [
      ALICE,
      req("update", "kleff.kleff.io", "tenants", { subresource: "status", name: "t1" }),
      'tenants.kleff.kleff.io "t1" is forbidden: User "alice" cannot update resource "tenants/status" in API group "kleff.kleff.io" at the cluster scope',
    ],
    [
      ALICE,
      req("get", "", "", { nonResourcePath: "/metrics" }),
      'forbidden: User "alice" cannot get path "/metrics"',
    ],
    [
      ALICE,
      req("get", "", "pods", { namespace: "team-c", name: "p" }),
      'pods "p" is forbidden: User "alice" cannot get resource "pods" in API group "" in the namespace "team-c": RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found',
    ],
  ];
  for (const [identity, request, message] of cases) {
    const decision = authorize(identity, request, FIXTURE);
    // What a SubjectAccessReview reports: RBAC's own errors only, no Forbidden wording.
    const rbacReason = /: (RBAC: .*)$/.exec(message)?.[1] ?? "";
    assert.deepEqual(decision, { allowed: false, reason: message, rbacReason });
  }
  const allowedBy =
    'RBAC: allowed by RoleBinding "op-read/team-b" of ClusterRole "ns-reader" to ServiceAccount "kleff-tenant-operator/kleff-system"';
  assert.deepEqual(
    authorize(OPERATOR, req("list", "", "configmaps", { namespace: "team-b" }), FIXTURE),
    { allowed: true, reason: allowedBy, rbacReason: allowedBy },
  );
  const alice =
    'RBAC: allowed by ClusterRoleBinding "alice-ns" of ClusterRole "ns-reader" to User "alice"';
  assert.deepEqual(authorize(ALICE, req("list", "", "namespaces"), FIXTURE), {
    allowed: true,
    reason: alice,
    rbacReason: alice,
  });
  assert.equal(
    forbiddenMessage(ALICE, req("watch", "apps", "deployments")),
    'deployments.apps is forbidden: User "alice" cannot watch resource "deployments" in API group "apps" at the cluster scope',
  );
  assert.deepEqual(
    forbiddenDetails(req("get", "k.io", "tenants", { subresource: "status", name: "t" })),
    {
      group: "k.io",
      kind: "tenants",
      name: "t",
    },
  );
});

Deno.test("rbacObjectsFrom sorts kinds and drops malformed objects (they grant nothing)", () => {
  assert.deepEqual(
    [
      FIXTURE.roles.length,
      FIXTURE.clusterRoles.length,
      FIXTURE.roleBindings.length,
      FIXTURE.clusterRoleBindings.length,
    ],
    [2, 2, 4, 2],
  );
  const bad = rbacObjectsFrom([
    { apiVersion: RBAC_V1, kind: "ClusterRole", metadata: { name: "r" }, rules: "everything" },
    { apiVersion: RBAC_V1, kind: "ClusterRole", metadata: { name: "s" }, rules: [{ verbs: "*" }] },
    {
      apiVersion: RBAC_V1,
      kind: "ClusterRoleBinding",
      metadata: { name: "b" },
      roleRef: { kind: "ClusterRole", name: "r" },
      subjects: [{ kind: "User" }],
    },
  ] as KubeObject[]);
  assert.deepEqual(bad, { roles: [], clusterRoles: [], roleBindings: [], clusterRoleBindings: [] });
});

Deno.test("serviceAccountIdentity has kube's user name and groups", () => {
  assert.deepEqual(serviceAccountIdentity("ns", "sa"), {
    username: "system:serviceaccount:ns:sa",
    groups: ["system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated"],
  });
});

Deno.test("discoveryAllowed follows system:discovery and system:public-info-viewer", () => {
  const cases: [string, boolean][] = [
    ["/api", true],
    ["/api/v1", true],
    ["/apis", true],
    ["/apis/kleff.kleff.io/v1", true],
    ["/openapi/v3", true],
    ["/openapi/v2", true],
    ["/version", true],
    ["/healthz", true],
    ["/livez", true],
    ["/readyz", true],
    ["/metrics", false],
    ["/logs", false],
    ["/healthz/etcd", false],
    ["/apisx", false],
    ["/", false],
  ];
  for (const [path, expected] of cases) assert.equal(discoveryAllowed(path, "get"), expected, path);
  assert.equal(discoveryAllowed("/healthz", "post"), false, "only get is granted");
  assert.equal(discoveryAllowed("/api", "delete"), false, "only get is granted");
});

Deno.test("grantedPermissions lists verb group/resource keys", () => {
  const granted = grantedPermissions([
    {
      verbs: ["get", "patch"],
      apiGroups: ["kleff.kleff.io"],
      resources: ["tenants", "tenants/status"],
    },
    { verbs: ["create"], apiGroups: [""], resources: ["namespaces"] },
    { verbs: ["get"], nonResourceURLs: ["/healthz"] },
  ]);
  assert.deepEqual([...granted].sort(), [
    "create /namespaces",
    "get kleff.kleff.io/tenants",
    "get kleff.kleff.io/tenants/status",
    "patch kleff.kleff.io/tenants",
    "patch kleff.kleff.io/tenants/status",
  ]);
});

async function deployRbac(): Promise<RbacObjects> {
  const objects: KubeObject[] = [];
  for (const file of ["cluster_role", "cluster_role_binding", "role", "role_binding"]) {
    const url = new URL(`../../../deploy/${file}.yaml`, import.meta.url);
    for (const doc of parseAllDocuments(await Deno.readTextFile(url))) {
      objects.push(doc.toJS() as KubeObject);
    }
  }
  return rbacObjectsFrom(objects);
}

Deno.test("deploy/ RBAC grants the operator what it uses and nothing near it", async () => {
  const rbac = await deployRbac();
  const cases: [AuthorizationRequest, boolean][] = [
    [req("watch", "kleff.kleff.io", "tenants"), true],
    [req("patch", "kleff.kleff.io", "tenants", { name: "t" }), true],
    [req("update", "kleff.kleff.io", "tenants", { subresource: "status", name: "t" }), false],
    [req("patch", "kleff.kleff.io", "tenants", { subresource: "status", name: "t" }), true],
    [req("delete", "kleff.kleff.io", "tenants", { name: "t" }), false],
    [req("update", "kleff.kleff.io", "tenants", { name: "t" }), false],
    [req("create", "", "namespaces"), true],
    [req("delete", "", "namespaces", { name: "user-1" }), true],
    [req("update", "", "namespaces", { name: "user-1" }), false],
    [req("create", "", "resourcequotas", { namespace: "user-1" }), true],
    [req("patch", "", "limitranges", { namespace: "user-1", name: "plan" }), true],
    [req("create", "networking.k8s.io", "networkpolicies", { namespace: "user-1" }), true],
    [req("create", "networking.istio.io", "gateways", { namespace: "user-1" }), true],
    [
      req("delete", "security.istio.io", "authorizationpolicies", {
        namespace: "user-1",
        name: "a",
      }),
      true,
    ],
    [req("create", "constraints.gatekeeper.sh", "k8sallowedrepos"), true],
    [req("create", "constraints.gatekeeper.sh", "k8srequiredlabels"), false],
    [req("create", "", "events", { namespace: "default" }), true],
    [req("patch", "", "events", { namespace: "default", name: "e" }), true],
    [req("create", "", "events", { namespace: "user-1" }), false],
    [req("get", "coordination.k8s.io", "leases", { namespace: "kleff-system", name: "l" }), true],
    [
      req("update", "coordination.k8s.io", "leases", { namespace: "kleff-system", name: "l" }),
      true,
    ],
    [req("update", "coordination.k8s.io", "leases", { namespace: "default", name: "l" }), false],
    [
      req("delete", "coordination.k8s.io", "leases", { namespace: "kleff-system", name: "l" }),
      false,
    ],
    [req("get", "", "secrets", { namespace: "kleff-system", name: "s" }), false],
    [req("list", "", "configmaps", { namespace: "kleff-system" }), false],
    [req("create", "", "pods", { namespace: "user-1" }), false],
    [req("create", "rbac.authorization.k8s.io", "rolebindings", { namespace: "user-1" }), false],
  ];
  for (const [request, expected] of cases) {
    const decision = authorize(OPERATOR, request, rbac);
    assert.equal(
      decision.allowed,
      expected,
      `${request.verb} ${request.resource}: ${decision.reason}`,
    );
  }
  const stranger = serviceAccountIdentity("user-1", "default");
  assert.equal(authorize(stranger, req("list", "kleff.kleff.io", "tenants"), rbac).allowed, false);
});
