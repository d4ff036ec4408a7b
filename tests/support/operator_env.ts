// The test bed of the end-to-end operator tests: an API server with the Tenant CRD and deploy/'s
// RBAC installed, and the operator's manager running in-process as its service account. The API
// server is a fresh dev API server per test, or in the real lane (test_apiserver.ts) the shared
// real cluster put back to its baseline.
import type { Namespace } from "kubernetes-types/core/v1.d.ts";
import type { Condition } from "kubernetes-types/meta/v1.d.ts";
import type { CustomResourceDefinition } from "kubernetes-types/apiextensions/v1.d.ts";
import {
  type Counters,
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
import {
  applyDeployRbac,
  deployObjects,
  INTEGRATION_CRDS,
  integrationCrds,
  OPERATOR_ACCOUNT,
  PLANS_RBAC_FILE,
  POLICY_FILES,
  RBAC_FILES,
  readDeployYaml,
} from "./deploy_fixture.ts";
import { parseMetrics } from "./operator_process.ts";
import type { RealCluster } from "./real_cluster.ts";
import {
  kubernetesHas,
  realCluster,
  TEST_APISERVER,
  type TestApiServer,
} from "./test_apiserver.ts";
import { eventually } from "./wait.ts";

export { eventually, sleep } from "./wait.ts";
export {
  DEPLOY_DIR,
  INTEGRATION_CRDS,
  OPERATOR_ACCOUNT,
  OPERATOR_USERNAME,
  readDeployYaml,
} from "./deploy_fixture.ts";
export {
  devOnly,
  kubernetesHas,
  needsKubernetes,
  needsNamespaceDeletion,
} from "./test_apiserver.ts";

/** The operator's service-account token on a dev API server. */
const OPERATOR_TOKEN = "operator-token";

/** Thrown when a test reaches for the dev API server while running against a real one. */
export class DevApiServerOnlyError extends Error {
  /** Builds the error naming what was asked for. */
  constructor(what: string) {
    super(
      `${what} is the dev API server's, and this test runs against a real one: declare the ` +
        `test with devOnly("…"), or use env.counters / env.usedPermissions()`,
    );
    this.name = "DevApiServerOnlyError";
  }
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
  /** Which API server this test bed runs on. */
  readonly apiServer: TestApiServer;
  readonly client: KubeClient;
  readonly tenants: ResourceClient<Tenant>;
  readonly namespaces: ResourceClient<Namespace>;
  readonly kubeconfigPath: string;
  /** A kubeconfig with the operator's service-account token (RBAC of deploy/ applies). */
  readonly operatorKubeconfigPath: string;
  /**
   * What clients asked the server since the test bed started (the dev API server's counters,
   * or the real server's audit log): verb, resource, status code.
   */
  readonly counters: Counters;
  /** The client the operator uses: its service account's. */
  operatorClient!: KubeClient;
  /** The RBAC objects of deploy/ applied to the server. */
  rbacObjects: KubeObject[] = [];
  metrics = new Registry();
  /** The running manager (after {@linkcode startOperator}). */
  manager?: Manager;
  #server?: DevApiServer;
  #real?: RealCluster;
  #stop?: AbortController;
  #running?: Promise<"stopped" | "lost">;
  #dir: string;

  private constructor(
    backend: { server: DevApiServer } | { real: RealCluster },
    client: KubeClient,
    dir: string,
  ) {
    if ("server" in backend) {
      this.apiServer = "dev";
      this.#server = backend.server;
      this.counters = backend.server.counters;
    } else {
      this.apiServer = "real";
      this.#real = backend.real;
      this.counters = backend.real.audit;
    }
    this.client = client;
    this.#dir = dir;
    this.kubeconfigPath = `${dir}/kubeconfig`;
    this.operatorKubeconfigPath = `${dir}/operator.kubeconfig`;
    this.tenants = client.resource<Tenant>(TENANT_RESOURCE);
    this.namespaces = client.resource<Namespace>(namespaces);
  }

  /**
   * The dev API server (faults, latency, its counters); throws {@linkcode DevApiServerOnlyError}
   * against a real API server.
   */
  get server(): DevApiServer {
    if (!this.#server) throw new DevApiServerOnlyError("env.server");
    return this.#server;
  }

  /** The API server's URL. */
  get serverUrl(): string {
    return this.#server?.url ?? this.#real!.kube.url;
  }

  /** The `verb group/resource` permissions RBAC granted to `username` since the start. */
  usedPermissions(username: string): Set<string> {
    return this.#server?.usedPermissions(username) ?? this.#real!.audit.usedPermissions(username);
  }

  /**
   * Starts a server in RBAC mode (or, in the real lane, restores the shared real cluster), installs
   * the CRD (or `crd`) and the RBAC objects of deploy/'s kustomize base (with `plansRole`, also
   * the optional deploy/plans_role.yaml; with `admissionPolicies`, also its
   * ValidatingAdmissionPolicies, dev API server only), and (unless `operator: false`) starts the
   * operator as its service account, so every end-to-end test also proves the operator needs no
   * more than deploy/ grants. `server` tunes a dev API server (the operator's token is merged with
   * its `serviceAccountTokens`) and is ignored by a real one.
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
    const crd = options.crd ?? await readDeployYaml<CustomResourceDefinition>("crd.yaml");
    const files = options.plansRole ? [...RBAC_FILES, PLANS_RBAC_FILE] : RBAC_FILES;
    const dir = await Deno.makeTempDir({ prefix: "kleff-test-" });
    let env: OperatorEnv;
    if (TEST_APISERVER === "real") {
      const real = realCluster!;
      await real.prepare(crd);
      await writeJson(`${dir}/kubeconfig`, real.adminKubeconfig());
      await writeJson(`${dir}/operator.kubeconfig`, real.operatorKubeconfig());
      env = new OperatorEnv({ real }, await connect({ kubeconfig: `${dir}/kubeconfig` }), dir);
      if (options.plansRole) await applyDeployRbac(env.client, [PLANS_RBAC_FILE]);
      if (options.admissionPolicies) {
        if (!kubernetesHas(30)) {
          throw new Error("admissionPolicies need ValidatingAdmissionPolicy (Kubernetes 1.30)");
        }
        await applyDeployRbac(env.client, POLICY_FILES);
      }
      env.rbacObjects = await deployObjects(files);
    } else {
      const server = await startDevApiServer({
        tokens: ["admin-token"],
        authorization: "RBAC",
        ...options.server,
        serviceAccountTokens: {
          [OPERATOR_TOKEN]: OPERATOR_ACCOUNT,
          ...options.server?.serviceAccountTokens,
        },
      });
      await server.writeKubeconfig(`${dir}/kubeconfig`);
      env = new OperatorEnv({ server }, await connect({ kubeconfig: `${dir}/kubeconfig` }), dir);
      await env.client.resource<CustomResourceDefinition>(customResourceDefinitions).create(crd);
      env.rbacObjects = await applyDeployRbac(env.client, files);
      if (options.admissionPolicies) await applyDeployRbac(env.client, POLICY_FILES);
      const kubeconfig = structuredClone(server.kubeconfig);
      kubeconfig.users[0].user = { token: OPERATOR_TOKEN };
      await writeJson(env.operatorKubeconfigPath, kubeconfig);
    }
    env.operatorClient = await connect({ kubeconfig: env.operatorKubeconfigPath });
    if (options.operator ?? true) env.startOperator();
    return env;
  }

  /** Binds deploy/'s metrics-reader ClusterRole to Prometheus's service account, monitoring/prometheus. */
  async grantMetricsReader(): Promise<void> {
    const role = await readDeployYaml<KubeObject>("metrics_reader_role.yaml");
    await this.client.request({
      method: "POST",
      path: "/apis/rbac.authorization.k8s.io/v1/clusterroles",
      body: role,
    });
    await this.client.request({
      method: "POST",
      path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
      body: {
        metadata: { name: "prometheus-reads-kleff-metrics" },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: role.metadata?.name,
        },
        subjects: [{ kind: "ServiceAccount", namespace: "monitoring", name: "prometheus" }],
      },
    });
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

  /** Installs the Istio and Gatekeeper CRDs of tests/fixtures/crds/ (served when this returns). */
  async installIntegrationCrds(files: readonly string[] = INTEGRATION_CRDS): Promise<void> {
    for (const crd of await integrationCrds(files)) {
      if (this.#real) await this.#real.installCrd(crd);
      else {
        await this.client.resource<CustomResourceDefinition>(customResourceDefinitions).create(
          crd,
        );
      }
    }
  }

  /** Creates a Tenant from a plain spec. */
  createTenant(
    name: string,
    spec: Record<string, unknown>,
    options: { annotations?: Record<string, string> } = {},
  ): Promise<Tenant> {
    return this.tenants.create({
      apiVersion: "kleff.kleff.io/v1",
      kind: "Tenant",
      metadata: { name, ...(options.annotations ? { annotations: options.annotations } : {}) },
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
      .map((verb) => this.counters.count({ verb: verb as "create", resource }))
      .reduce((a, b) => a + b, 0);
  }

  /**
   * Number of GETs and LISTs of resources the server answered, or of `verb` only (discovery is
   * not counted).
   */
  reads(verb?: "get" | "list"): number {
    return this.counters.snapshot()
      .filter((entry) =>
        (verb === undefined
          ? entry.verb === "get" || entry.verb === "list"
          : entry.verb === verb) &&
        !entry.resource.startsWith("/")
      )
      .reduce((total, entry) => total + entry.count, 0);
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

  /** Stops the operator and the dev API server and removes temp files (a real cluster is restored by the next test bed). */
  async close(): Promise<void> {
    await this.stopOperator();
    this.client.close();
    this.operatorClient?.close();
    await this.#server?.close();
    await Deno.remove(this.#dir, { recursive: true });
  }

  /** Same as {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await Deno.writeTextFile(path, JSON.stringify(value), { mode: 0o600 });
}
