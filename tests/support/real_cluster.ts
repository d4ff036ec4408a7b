// The real cluster the tests of the real lane share: started once (by tests/real/lane.ts for a
// whole `deno task test:real`, else by the test module that needs it), with deploy/'s CRD and
// RBAC installed, and put back to exactly that state before each test.
import type { CustomResourceDefinition } from "kubernetes-types/apiextensions/v1.d.ts";
import type { Kubeconfig } from "../../dev_apiserver/mod.ts";
import { InvalidError, isNotFound, KubeClient } from "../../lib/client/mod.ts";
import { AuditLog } from "./audit_log.ts";
import { type BaselineRecord, ClusterBaseline } from "./cluster_baseline.ts";
import { applyDeployRbac, OPERATOR_ACCOUNT, RBAC_FILES, readDeployYaml } from "./deploy_fixture.ts";
import type { KubeAssets } from "./kube_assets.ts";
import { RealKube, type RealKubeHandle, startRealKube } from "./real_kube.ts";
import { eventually } from "./wait.ts";

const CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const TENANT_CRD = "tenants.kleff.kleff.io";
/** The annotation recording which variant of a CRD the harness installed (a hash of it). */
const VARIANT_ANNOTATION = "kleff-harness.io/variant";

/** The environment variable naming a file with a prepared cluster's {@linkcode RealClusterState}. */
export const REAL_CLUSTER_VARIABLE = "KLEFF_REAL_CLUSTER";

/** A prepared cluster, as JSON for every test process of a run. */
export interface RealClusterState {
  /** The control plane. */
  kube: RealKubeHandle;
  /** A token of the operator's service account (TokenRequest). */
  operatorToken: string;
  /** See {@linkcode RealCluster.emptyStringsRefused}. */
  emptyStringsRefused: boolean;
  /** The objects after preparation. */
  baseline: BaselineRecord;
}

function adminClient(kube: RealKube): KubeClient {
  const user = kube.handle.adminKubeconfig.users[0].user;
  return new KubeClient({
    server: kube.url,
    namespace: "default",
    caPem: kube.handle.caPem,
    insecureSkipTlsVerify: false,
    clientCertPem: decode(user["client-certificate-data"]),
    clientKeyPem: decode(user["client-key-data"]),
    auth: { kind: "none" },
    source: { kind: "kubeconfig", files: [], context: "real" },
  });
}

/** A shared real cluster: the control plane, an admin client, its audit log, the operator's token. */
export class RealCluster {
  readonly kube: RealKube;
  /** The cluster admin's client (shared: never close it). */
  readonly admin: KubeClient;
  /** What clients asked, since the last reset. */
  readonly audit: AuditLog;
  /** A token of the operator's service account (TokenRequest). */
  readonly operatorToken: string;
  /**
   * Whether the server refuses `""` in a custom resource's string field (see
   * {@linkcode refusesEmptyStrings}); CRDs the harness installs then mark their strings
   * `nullable`, which lets `""` through.
   */
  readonly emptyStringsRefused: boolean;
  readonly #baseline: ClusterBaseline;

  /** Attaches to a prepared cluster. */
  constructor(kube: RealKube, state: Omit<RealClusterState, "kube">) {
    this.kube = kube;
    this.admin = adminClient(kube);
    this.audit = new AuditLog(kube.handle.auditLogPath);
    this.operatorToken = state.operatorToken;
    this.emptyStringsRefused = state.emptyStringsRefused;
    this.#baseline = new ClusterBaseline(state.baseline);
  }

  /**
   * Installs deploy/'s RBAC and CRD on a fresh control plane and records the baseline every
   * test starts from.
   */
  static async prepare(kube: RealKube): Promise<RealClusterState> {
    const admin = adminClient(kube);
    try {
      await applyDeployRbac(admin, RBAC_FILES);
      const [namespace, name] = OPERATOR_ACCOUNT.split("/");
      const operatorToken = await kube.serviceAccountToken(namespace, name, {
        expirationSeconds: 86_400,
      });
      const emptyStringsRefused = await refusesEmptyStrings(admin);
      const cluster = new RealCluster(kube, {
        operatorToken,
        emptyStringsRefused,
        baseline: { uids: [], namespaces: [], keep: [] },
      });
      try {
        await cluster.#ensureTenantCrd(await readDeployYaml("crd.yaml"));
      } finally {
        cluster.admin.close();
      }
      const baseline = await ClusterBaseline.take(admin, [
        `customresourcedefinitions/${TENANT_CRD}`,
      ]);
      return { kube: kube.handle, operatorToken, emptyStringsRefused, baseline: baseline.record };
    } finally {
      admin.close();
    }
  }

  /**
   * Back to the state after preparation: every object a test left is deleted, and the Tenant
   * CRD is `crd` (replaced when the last test had another).
   */
  async prepare(crd: CustomResourceDefinition): Promise<void> {
    await this.#baseline.restore(this.admin);
    await this.#ensureTenantCrd(crd);
    this.audit.reset();
  }

  async #ensureTenantCrd(crd: CustomResourceDefinition): Promise<void> {
    const variant = await hash(JSON.stringify(crd));
    let current: CustomResourceDefinition | undefined;
    try {
      current = await this.admin.request<CustomResourceDefinition>({
        path: `${CRDS}/${TENANT_CRD}`,
      });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (current?.metadata?.annotations?.[VARIANT_ANNOTATION] === variant) return;
    if (current) await this.deleteCrd(TENANT_CRD);
    const marked = structuredClone(crd);
    marked.metadata = {
      ...marked.metadata,
      annotations: { ...marked.metadata?.annotations, [VARIANT_ANNOTATION]: variant },
    };
    await this.installCrd(marked);
  }

  /**
   * Creates a CRD as the server accepts it (a server without CEL drops `x-kubernetes-validations`
   * as `kubectl apply --validate=false` lets it) and waits until its kind is served.
   */
  async installCrd(crd: CustomResourceDefinition): Promise<void> {
    await installCrd(this.admin, this.emptyStringsRefused ? nullableStrings(crd) : crd);
  }

  /** Deletes a CRD and waits until it is gone. */
  async deleteCrd(name: string): Promise<void> {
    await deleteCrd(this.admin, name);
  }

  /** The admin's kubeconfig (client certificate). */
  adminKubeconfig(): Kubeconfig {
    return structuredClone(this.kube.handle.adminKubeconfig);
  }

  /** A kubeconfig with the operator's service-account token. */
  operatorKubeconfig(): Kubeconfig {
    return this.kube.tokenKubeconfig(this.operatorToken);
  }
}

async function installCrd(admin: KubeClient, crd: CustomResourceDefinition): Promise<void> {
  await admin.request({ method: "POST", path: CRDS, body: crd });
  const { group, names, versions } = crd.spec;
  const served = versions.find((version) => version.served)!.name;
  await eventually(`${names.plural}.${group} served`, async () => {
    const current = await admin.request<CustomResourceDefinition>({
      path: `${CRDS}/${crd.metadata?.name}`,
    });
    const established = current.status?.conditions?.some((condition) =>
      condition.type === "Established" && condition.status === "True"
    );
    if (!established) return false;
    await admin.request({ path: `/apis/${group}/${served}/${names.plural}` });
    return true;
  }, 30_000);
}

async function deleteCrd(admin: KubeClient, name: string): Promise<void> {
  await admin.request({ method: "DELETE", path: `${CRDS}/${name}` });
  await eventually(`CRD ${name} gone`, async () => {
    try {
      await admin.request({ path: `${CRDS}/${name}` });
      return false;
    } catch (error) {
      if (isNotFound(error)) return true;
      throw error;
    }
  }, 30_000);
}

/**
 * Whether the server refuses `""` in a custom resource's string field. kube-apiserver v1.20.2
 * built with Go ≥ 1.18 does: its go-openapi type check takes a value equal to its type's zero
 * value for null (`reflect.DeepEqual` of two `reflect.Value`s, which newer Go runtimes back with
 * one shared zero value), where the upstream build (Go 1.15) and every later release accept it.
 */
async function refusesEmptyStrings(admin: KubeClient): Promise<boolean> {
  const name = "probes.kleff-harness.io";
  await installCrd(admin, {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name },
    spec: {
      group: "kleff-harness.io",
      scope: "Cluster",
      names: { plural: "probes", singular: "probe", kind: "Probe", listKind: "ProbeList" },
      versions: [{
        name: "v1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: { spec: { type: "object", properties: { text: { type: "string" } } } },
          },
        },
      }],
    },
  });
  try {
    await admin.request({
      method: "POST",
      path: "/apis/kleff-harness.io/v1/probes",
      query: { dryRun: "All" },
      body: {
        apiVersion: "kleff-harness.io/v1",
        kind: "Probe",
        metadata: { name: "empty" },
        spec: { text: "" },
      },
    });
    return false;
  } catch (error) {
    if (error instanceof InvalidError) return true;
    throw error;
  } finally {
    await deleteCrd(admin, name);
  }
}

/**
 * `crd` with `nullable: true` on every string schema but list-map keys, which may not be
 * nullable (see {@linkcode refusesEmptyStrings}).
 */
function nullableStrings(crd: CustomResourceDefinition): CustomResourceDefinition {
  const copy = structuredClone(crd);
  type Schema = {
    type?: string;
    nullable?: boolean;
    properties?: Record<string, Schema>;
    items?: Schema;
    additionalProperties?: Schema | boolean;
    "x-kubernetes-list-map-keys"?: string[];
  };
  const visit = (schema: Schema | undefined, keys: string[] = []): void => {
    if (!schema) return;
    if (schema.type === "string") schema.nullable = true;
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      if (keys.includes(name) && property.type === "string") continue;
      visit(property);
    }
    visit(schema.items, schema["x-kubernetes-list-map-keys"]);
    if (typeof schema.additionalProperties === "object") visit(schema.additionalProperties);
  };
  for (const version of copy.spec.versions) {
    visit(version.schema?.openAPIV3Schema as Schema | undefined);
  }
  return copy;
}

async function hash(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return new Uint8Array(digest).slice(0, 12).toHex();
}

function decode(base64?: string): string {
  return new TextDecoder().decode(Uint8Array.fromBase64(base64 ?? ""));
}

/**
 * Attaches to the run's prepared cluster (named by {@linkcode REAL_CLUSTER_VARIABLE}), or starts
 * and prepares one from `assets` for this test module alone.
 */
export async function attachRealCluster(assets: KubeAssets): Promise<RealCluster> {
  const path = Deno.env.get(REAL_CLUSTER_VARIABLE);
  if (path) {
    const state = JSON.parse(await Deno.readTextFile(path)) as RealClusterState;
    return new RealCluster(new RealKube(state.kube), state);
  }
  const kube = await startRealKube(assets);
  const state = await RealCluster.prepare(kube);
  if (state.emptyStringsRefused) console.log(EMPTY_STRINGS_NOTE(kube.version));
  return new RealCluster(kube, state);
}

/** What to tell about a server that refuses empty strings. */
export const EMPTY_STRINGS_NOTE = (version: string): string =>
  `note: kube-apiserver ${version} refuses "" in custom resources' string fields (a build ` +
  "with Go >= 1.18); the CRDs the tests install mark their strings nullable, which lets it through";
