// A dev API server with the Tenant CRD installed and the operator's manager
// running in-process: the test bed of the end-to-end operator tests.
import type { Namespace } from "kubernetes-types/core/v1.d.ts";
import type { Condition } from "kubernetes-types/meta/v1.d.ts";
import type { CustomResourceDefinition } from "kubernetes-types/apiextensions/v1.d.ts";
import { parse, parseAllDocuments } from "yaml";
import {
  type DevApiServer,
  type DevApiServerOptions,
  startDevApiServer,
} from "../../dev_apiserver/mod.ts";
import {
  connect,
  customResourceDefinitions,
  isNotFound,
  type KubeClient,
  type KubeObject,
  namespaces,
  type ResourceClient,
} from "../../lib/client/mod.ts";
import { type Tenant, TENANT_RESOURCE } from "../../lib/api/mod.ts";
import { Manager, type ManagerOptions } from "../../lib/operator/manager.ts";
import { Registry } from "../../lib/metrics/registry.ts";
import { parseMetrics } from "./operator_process.ts";
import { eventually } from "./wait.ts";

export { eventually, sleep } from "./wait.ts";

/** Where the repository's deploy/ folder is. */
export const DEPLOY_DIR = new URL("../../deploy/", import.meta.url);

/** The operator's service account, as deploy/ names it, and its token in tests. */
export const OPERATOR_ACCOUNT = "kleff-system/kleff-tenant-operator";
/** The user name of {@linkcode OPERATOR_ACCOUNT}. */
export const OPERATOR_USERNAME = "system:serviceaccount:kleff-system:kleff-tenant-operator";
const OPERATOR_TOKEN = "operator-token";

/** The files of deploy/'s kustomize base with the operator's namespace, service account and RBAC. */
const RBAC_FILES = [
  "namespace.yaml",
  "service_account.yaml",
  "cluster_role.yaml",
  "cluster_role_binding.yaml",
  "role.yaml",
  "role_binding.yaml",
];
/** The optional Role and RoleBinding for `--plans-configmap`, outside the kustomize base. */
const PLANS_RBAC_FILE = "plans_role.yaml";
/** The ValidatingAdmissionPolicies of deploy/'s kustomize base and their bindings. */
const POLICY_FILES = ["policy_tenant_namespaces.yaml", "policy_tenant_objects.yaml"];

/** Where each kind of the deploy/ files the tests apply is created. */
const DEPLOY_PATHS: Record<string, (namespace?: string) => string> = {
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

/** Creates the objects of `files` (of deploy/) and returns them. */
async function applyDeployFiles(client: KubeClient, files: string[]): Promise<KubeObject[]> {
  const objects: KubeObject[] = [];
  for (const file of files) {
    const text = await Deno.readTextFile(new URL(file, DEPLOY_DIR));
    for (const document of parseAllDocuments(text)) {
      const object = document.toJSON() as KubeObject | null;
      if (!object) continue;
      const path = DEPLOY_PATHS[object.kind ?? ""];
      if (!path) throw new Error(`deploy/${file}: no test path for kind ${object.kind}`);
      await client.request({
        method: "POST",
        path: path(object.metadata?.namespace),
        body: object,
      });
      objects.push(object);
    }
  }
  return objects;
}

/** Where the Istio and Gatekeeper CRD fixtures are. */
const FIXTURE_CRDS = new URL("../fixtures/crds/", import.meta.url);

/** Every Istio and Gatekeeper CRD fixture, by file name. */
export const INTEGRATION_CRDS: readonly string[] = [
  "istio_gateway.yaml",
  "istio_authorization_policy.yaml",
  "istio_peer_authentication.yaml",
  "istio_sidecar.yaml",
  "gatekeeper_k8sallowedrepos.yaml",
];

/** Reads a YAML file from deploy/. */
export async function readDeployYaml<T>(path: string): Promise<T> {
  return parse(await Deno.readTextFile(new URL(path, DEPLOY_DIR))) as T;
}

/** Options of {@linkcode OperatorEnv.settled}. */
export interface SettleOptions {
  /**
   * Also wait until the operator has finished more reconciles than this: read
   * {@linkcode OperatorEnv.reconciles} before acting, so that settling proves the operator saw
   * the action (omit when there is nothing to see).
   */
  reconcilesAfter?: number;
  /** Polls in a row that must find the operator idle and no new write (default 5). */
  quietPolls?: number;
  /** Pause between polls, in ms (default 20 ms). */
  intervalMs?: number;
  /** Give up after this long, in ms (default 10 s). */
  timeoutMs?: number;
}

/** A running operator against its own dev API server. */
export class OperatorEnv implements AsyncDisposable {
  readonly server: DevApiServer;
  readonly client: KubeClient;
  readonly tenants: ResourceClient<Tenant>;
  readonly namespaces: ResourceClient<Namespace>;
  readonly kubeconfigPath: string;
  /** A kubeconfig with the operator's service-account token (RBAC of deploy/ applies). */
  readonly operatorKubeconfigPath: string;
  /** The client the operator uses: its service account's. */
  operatorClient!: KubeClient;
  /** The RBAC objects of deploy/ applied to the server. */
  rbacObjects: KubeObject[] = [];
  metrics = new Registry();
  /** The running manager (after {@linkcode startOperator}). */
  manager?: Manager;
  #stop?: AbortController;
  #running?: Promise<"stopped" | "lost">;
  #dir: string;

  private constructor(server: DevApiServer, client: KubeClient, dir: string) {
    this.server = server;
    this.client = client;
    this.#dir = dir;
    this.kubeconfigPath = `${dir}/kubeconfig`;
    this.operatorKubeconfigPath = `${dir}/operator.kubeconfig`;
    this.tenants = client.resource<Tenant>(TENANT_RESOURCE);
    this.namespaces = client.resource<Namespace>(namespaces);
  }

  /**
   * Starts a server in RBAC mode (with the operator's service-account token and any other
   * `server.serviceAccountTokens`), installs the CRD (or `crd`) and the RBAC objects of
   * deploy/'s kustomize base (with `plansRole`, also the optional deploy/plans_role.yaml; with
   * `admissionPolicies`, also its ValidatingAdmissionPolicies), and (unless `operator: false`)
   * starts the operator as its service account, so every end-to-end test also proves the
   * operator needs no more than deploy/ grants.
   */
  static async start(
    options: {
      server?: DevApiServerOptions;
      operator?: boolean;
      crd?: CustomResourceDefinition;
      plansRole?: boolean;
      admissionPolicies?: boolean;
    } = {},
  ): Promise<OperatorEnv> {
    const server = await startDevApiServer({
      tokens: ["admin-token"],
      authorization: "RBAC",
      ...options.server,
      serviceAccountTokens: {
        [OPERATOR_TOKEN]: OPERATOR_ACCOUNT,
        ...options.server?.serviceAccountTokens,
      },
    });
    const dir = await Deno.makeTempDir({ prefix: "kleff-test-" });
    await server.writeKubeconfig(`${dir}/kubeconfig`);
    const client = await connect({ kubeconfig: `${dir}/kubeconfig` });
    const env = new OperatorEnv(server, client, dir);
    const crd = options.crd ?? await readDeployYaml<CustomResourceDefinition>("crd.yaml");
    await client.resource<CustomResourceDefinition>(customResourceDefinitions).create(crd);
    env.rbacObjects = await applyDeployFiles(
      client,
      options.plansRole ? [...RBAC_FILES, PLANS_RBAC_FILE] : RBAC_FILES,
    );
    if (options.admissionPolicies) await applyDeployFiles(client, POLICY_FILES);
    const kubeconfig = structuredClone(server.kubeconfig);
    kubeconfig.users[0].user = { token: OPERATOR_TOKEN };
    await Deno.writeTextFile(env.operatorKubeconfigPath, JSON.stringify(kubeconfig));
    env.operatorClient = await connect({ kubeconfig: env.operatorKubeconfigPath });
    if (options.operator ?? true) env.startOperator();
    return env;
  }

  /** A client authenticating with `token` (one of `server.serviceAccountTokens`); close it after use. */
  async clientWithToken(token: string): Promise<KubeClient> {
    const kubeconfig = structuredClone(this.server.kubeconfig);
    kubeconfig.users[0].user = { token };
    const path = `${this.#dir}/${crypto.randomUUID()}.kubeconfig`;
    await Deno.writeTextFile(path, JSON.stringify(kubeconfig));
    return await connect({ kubeconfig: path });
  }

  /**
   * Starts the operator (a fresh manager with fresh metrics); `overrides` replace options, and
   * `client` replaces the admin client (e.g. one with a service account's token).
   */
  startOperator(
    overrides: Partial<ManagerOptions> = {},
    client: KubeClient = this.operatorClient,
  ): void {
    if (this.#stop) throw new Error("operator already running");
    this.metrics = new Registry();
    const manager = this.manager = new Manager(client, {
      concurrency: 4,
      resyncPeriodMs: 60_000,
      metrics: this.metrics,
      instance: "test",
      watchTimings: {
        inactivityTimeoutMs: 5_000,
        initialEventsTimeoutMs: 2_000,
        backoff: { initialMs: 50, maxMs: 500 },
      },
      discoveryIntervalMs: 200,
      ...overrides,
    });
    this.#stop = new AbortController();
    this.#running = manager.run(this.#stop.signal);
  }

  /** Stops the operator and waits for in-flight reconciles. */
  async stopOperator(): Promise<void> {
    this.#stop?.abort();
    await this.#running;
    this.#stop = undefined;
    this.#running = undefined;
  }

  /** Installs the Istio and Gatekeeper CRDs of tests/fixtures/crds/ (or those of `files`). */
  async installIntegrationCrds(files: readonly string[] = INTEGRATION_CRDS): Promise<void> {
    for (const file of files) {
      const crd = parse(await Deno.readTextFile(new URL(file, FIXTURE_CRDS)));
      await this.client.resource<CustomResourceDefinition>(customResourceDefinitions).create(crd);
    }
  }

  /** Creates a Tenant from a plain spec. */
  createTenant(name: string, spec: Record<string, unknown>): Promise<Tenant> {
    return this.tenants.create({
      apiVersion: "kleff.kleff.io/v1",
      kind: "Tenant",
      metadata: { name },
      spec: spec as unknown as Tenant["spec"],
    });
  }

  /** The condition `type` of Tenant `name`, if any. */
  async condition(name: string, type: string): Promise<Condition | undefined> {
    const tenant = await this.tenants.get(name);
    return tenant.status?.conditions?.find((condition) => condition.type === type);
  }

  /** Waits until condition `type` of `name` has `status` (and `reason`, when given). */
  waitForCondition(
    name: string,
    type: string,
    status: "True" | "False",
    reason?: string,
    timeoutMs?: number,
  ): Promise<Condition> {
    return eventually(`${name} ${type}=${status}${reason ? ` (${reason})` : ""}`, async () => {
      const condition = await this.condition(name, type);
      return condition?.status === status && (!reason || condition.reason === reason)
        ? condition
        : undefined;
    }, timeoutMs);
  }

  /** Waits until Tenant `name` is gone. */
  waitForTenantGone(name: string, timeoutMs?: number): Promise<true> {
    return eventually(`tenant ${name} gone`, async () => {
      try {
        await this.tenants.get(name);
        return false;
      } catch (error) {
        if (isNotFound(error)) return true;
        throw error;
      }
    }, timeoutMs);
  }

  /** The namespace `name`, or undefined when it does not exist. */
  async namespace(name: string): Promise<Namespace | undefined> {
    try {
      return await this.namespaces.get(name);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Number of writes (create, update, patch, delete) the server answered, optionally for one resource. */
  writes(resource?: string): number {
    return ["create", "update", "patch", "delete", "deletecollection"]
      .map((verb) => this.server.counters.count({ verb: verb as "create", resource }))
      .reduce((a, b) => a + b, 0);
  }

  /** The sum of every sample of metric `name` the running operator exposes. */
  metric(name: string): number {
    let total = 0;
    for (const [key, value] of parseMetrics(this.metrics.expose())) {
      if (key === name || key.startsWith(`${name}{`)) total += value;
    }
    return total;
  }

  /** Reconciles the running operator has finished, whatever their result. */
  reconciles(): number {
    return this.metric("controller_runtime_reconcile_total");
  }

  /**
   * Waits until nothing more is going to happen, instead of sleeping before a "nothing
   * happened" check: the operator's work queue is empty and no worker is busy
   * (`workqueue_depth`, `controller_runtime_active_workers`), it has finished more than
   * `reconcilesAfter` reconciles when that is given, and the server's write counters stayed
   * unchanged over `quietPolls` such polls in a row.
   */
  async settled(options: SettleOptions = {}): Promise<void> {
    const { reconcilesAfter, quietPolls = 5, intervalMs = 20, timeoutMs = 10_000 } = options;
    let quiet = 0;
    let writes = -1;
    await eventually(
      `the operator idle${
        reconcilesAfter === undefined ? "" : ` after ${reconcilesAfter + 1} reconciles`
      } and no write for ${quietPolls} polls`,
      () => {
        const idle = this.metric("workqueue_depth") === 0 &&
          this.metric("controller_runtime_active_workers") === 0 &&
          (reconcilesAfter === undefined || this.reconciles() > reconcilesAfter);
        const now = this.writes();
        quiet = idle && now === writes ? quiet + 1 : 0;
        writes = now;
        return quiet >= quietPolls;
      },
      { timeoutMs, intervalMs },
    );
  }

  /** Stops the operator and the server and removes temp files. */
  async close(): Promise<void> {
    await this.stopOperator();
    this.client.close();
    this.operatorClient?.close();
    await this.server.close();
    await Deno.remove(this.#dir, { recursive: true });
  }

  /** Same as {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
