// What every operator test bed installs from deploy/ (the CRD, the operator's namespace, service
// account and RBAC) and the Istio and Gatekeeper CRD fixtures, for either API server.
import type { CustomResourceDefinition } from "kubernetes-types/apiextensions/v1.d.ts";
import { parse, parseAllDocuments } from "yaml";
import type { KubeClient, KubeObject } from "../../lib/client/mod.ts";

/** Where the repository's deploy/ folder is. */
export const DEPLOY_DIR = new URL("../../deploy/", import.meta.url);

/** The operator's service account, as deploy/ names it. */
export const OPERATOR_ACCOUNT = "kleff-system/kleff-tenant-operator";
/** The user name of {@linkcode OPERATOR_ACCOUNT}. */
export const OPERATOR_USERNAME = "system:serviceaccount:kleff-system:kleff-tenant-operator";

/** The files of deploy/'s kustomize base with the operator's namespace, service account and RBAC. */
export const RBAC_FILES: readonly string[] = [
  "namespace.yaml",
  "service_account.yaml",
  "cluster_role.yaml",
  "cluster_role_binding.yaml",
  "role.yaml",
  "role_binding.yaml",
];
/** The optional Role and RoleBinding for `--plans-configmap`, outside the kustomize base. */
export const PLANS_RBAC_FILE = "plans_role.yaml";
/** The ValidatingAdmissionPolicies of deploy/'s kustomize base and their bindings (1.30+). */
export const POLICY_FILES: readonly string[] = [
  "policy_tenant_namespaces.yaml",
  "policy_tenant_objects.yaml",
];

/** Where each kind of the RBAC files is created. */
const RBAC_PATHS: Record<string, (namespace?: string) => string> = {
  Namespace: () => "/api/v1/namespaces",
  ServiceAccount: (ns) => `/api/v1/namespaces/${ns}/serviceaccounts`,
  ClusterRole: () => "/apis/rbac.authorization.k8s.io/v1/clusterroles",
  ClusterRoleBinding: () => "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
  Role: (ns) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`,
  RoleBinding: (ns) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`,
  ValidatingAdmissionPolicy: () =>
    "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies",
  ValidatingAdmissionPolicyBinding: () =>
    "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings",
};

/** Reads a YAML file from deploy/. */
export async function readDeployYaml<T>(path: string): Promise<T> {
  return parse(await Deno.readTextFile(new URL(path, DEPLOY_DIR))) as T;
}

/** The objects of `files` (of deploy/), parsed. */
export async function deployObjects(files: readonly string[]): Promise<KubeObject[]> {
  const objects: KubeObject[] = [];
  for (const file of files) {
    const text = await Deno.readTextFile(new URL(file, DEPLOY_DIR));
    for (const document of parseAllDocuments(text)) {
      const object = document.toJSON() as KubeObject | null;
      if (object) objects.push(object);
    }
  }
  return objects;
}

/** Creates the objects of `files` (of deploy/) and returns them. */
export async function applyDeployRbac(
  client: KubeClient,
  files: readonly string[],
): Promise<KubeObject[]> {
  const objects = await deployObjects(files);
  for (const object of objects) {
    const path = RBAC_PATHS[object.kind ?? ""];
    if (!path) throw new Error(`deploy/: no test path for kind ${object.kind}`);
    await client.request({ method: "POST", path: path(object.metadata?.namespace), body: object });
  }
  return objects;
}

/** Where the Istio and Gatekeeper CRD fixtures are. */
const FIXTURE_CRDS = new URL("../fixtures/crds/", import.meta.url);

/** The Istio and Gatekeeper CRD fixtures of tests/fixtures/crds/. */
export const INTEGRATION_CRDS: readonly string[] = [
  "istio_gateway.yaml",
  "istio_authorization_policy.yaml",
  "istio_peer_authentication.yaml",
  "istio_sidecar.yaml",
  "gatekeeper_k8sallowedrepos.yaml",
];

/** The CRDs of `files` (default: every Istio and Gatekeeper fixture) of tests/fixtures/crds/. */
export async function integrationCrds(
  files: readonly string[] = INTEGRATION_CRDS,
): Promise<CustomResourceDefinition[]> {
  return await Promise.all(
    files.map(async (file) => parse(await Deno.readTextFile(new URL(file, FIXTURE_CRDS)))),
  );
}
