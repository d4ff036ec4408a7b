// The peer: the seed's Tenant behaviour as an operator is usually built, on
// @kubernetes/client-node informers, so `deno task bench peer` can put our operator's requests,
// speed and memory next to a conventional design's in one run. Like a kubebuilder operator it
// reads only from its informer caches (a Tenant informer and a Namespace informer, listed once
// and then watched), writes through the API with the cached resourceVersion, requeues on
// conflict with client-go's per-key backoff, and reconciles with a fixed number of workers.
// Its resync re-enqueues every cached Tenant without a request, as client-go's does.
//
//   deno run --config tools/node_client/deno.json --allow-net --allow-read --allow-env \
//     tools/node_client/peer_operator.ts --kubeconfig PATH [--concurrency 8] [--resync-period 10m]
//
// Behaviour (the seed's): a Tenant gets the finalizer, then the namespace `spec.userId` with the
// tenant labels and the `kleff.io/tenant-uid` annotation, then status conditions NamespaceReady
// and TenantReady and `status.namespace`. A namespace of that name without our annotation is
// never touched (NamespaceConflict). On deletion the owned namespace is deleted (uid
// precondition) and the finalizer removed once it is gone. No Events are recorded.
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type Informer,
  KubeConfig,
  type KubernetesObject,
  makeInformer,
  type ObjectCache,
  type RequestContext,
  type V1Namespace,
} from "@kubernetes/client-node";
import { PeerQueue } from "./peer_queue.ts";
import { parsePeerOptions, PeerOptionsError } from "./peer_options.ts";

const FINALIZER = "kleff.io/namespace-finalizer";
const UID_ANNOTATION = "kleff.io/tenant-uid";
const TENANT_LABEL = "kleff.io/tenant";
const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
const MANAGED_BY_VALUE = "kleff-tenant-operator";
const TENANTS = { group: "kleff.kleff.io", version: "v1", plural: "tenants" };

/** A standard status condition as the Tenant stores it. */
interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** The Tenant as the peer reads it. */
interface Tenant extends KubernetesObject {
  spec?: { userId?: string; username?: string; plan?: string };
  status?: { observedGeneration?: number; namespace?: string; conditions?: Condition[] };
}

/** An informer with its cache, as `makeInformer` builds it. */
type Cached<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

/** The labels the seed puts on a tenant namespace. */
function namespaceLabels(tenant: Tenant): Record<string, string> {
  return {
    "istio-injection": "enabled",
    "kleff.io/tenant-username": tenant.spec?.username ?? "",
    "kleff.io/tenant-plan": tenant.spec?.plan ?? "",
    [TENANT_LABEL]: tenant.metadata?.name ?? "",
    [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
  };
}

/** JSON with object keys sorted and undefined members dropped, to compare objects by value. */
function canonical(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, member: unknown) =>
      member && typeof member === "object" && !Array.isArray(member)
        ? Object.fromEntries(Object.entries(member).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
        : member,
  );
}

/**
 * Makes every request of `kc` use one connection pool. client-node 2.0.1 builds a new undici
 * Agent for each request whenever the kubeconfig carries TLS settings (a CA, a client
 * certificate, or skipped verification, as the dev API server's has), so each request opens a
 * new connection and the idle ones pile up; a production client reuses connections (client-go
 * shares one transport), and the bench compares designs, not that.
 */
function shareConnections(kc: KubeConfig): void {
  const apply = kc.applySecurityAuthentication.bind(kc);
  let shared: ReturnType<RequestContext["getDispatcher"]>;
  kc.applySecurityAuthentication = async (context: RequestContext) => {
    await apply(context);
    shared ??= context.getDispatcher();
    if (shared) context.setDispatcher(shared);
  };
}

/** Whether the API answered `code`. */
function isCode(error: unknown, code: number): boolean {
  return error instanceof ApiException && error.code === code;
}

/** The Tenant reconciler: cached reads, writes through the API. */
class TenantReconciler {
  readonly #custom: CustomObjectsApi;
  readonly #core: CoreV1Api;
  readonly #tenants: Cached<Tenant>;
  readonly #namespaces: Cached<V1Namespace>;

  constructor(
    kc: KubeConfig,
    caches: { tenants: Cached<Tenant>; namespaces: Cached<V1Namespace> },
  ) {
    this.#custom = kc.makeApiClient(CustomObjectsApi);
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#tenants = caches.tenants;
    this.#namespaces = caches.namespaces;
  }

  /** Reconciles the Tenant `name` from the caches; throws to be retried with backoff. */
  async reconcile(name: string): Promise<void> {
    const cached = this.#tenants.get(name);
    if (!cached) return;
    let tenant: Tenant = structuredClone(cached);
    const userId = tenant.spec?.userId ?? "";
    const namespace = userId ? this.#namespaces.get(userId) : undefined;
    const owned = namespace?.metadata?.annotations?.[UID_ANNOTATION] === tenant.metadata?.uid;
    const finalizers = tenant.metadata?.finalizers ?? [];
    if (tenant.metadata?.deletionTimestamp) {
      if (!finalizers.includes(FINALIZER)) return;
      if (namespace && owned) {
        if (!namespace.metadata?.deletionTimestamp) {
          await this.#core.deleteNamespace({
            name: userId,
            body: { preconditions: { uid: namespace.metadata?.uid } },
          });
        }
        return; // the namespace informer's delete event brings the tenant back
      }
      tenant.metadata!.finalizers = finalizers.filter((finalizer) => finalizer !== FINALIZER);
      await this.#custom.replaceClusterCustomObject({ ...TENANTS, name, body: tenant });
      return;
    }
    if (!finalizers.includes(FINALIZER)) {
      tenant.metadata!.finalizers = [...finalizers, FINALIZER];
      tenant = await this.#custom.replaceClusterCustomObject({ ...TENANTS, name, body: tenant });
    }
    const ready = await this.#ensureNamespace(tenant, namespace, owned);
    await this.#writeStatus(tenant, ready);
  }

  /** Creates or relabels the namespace; the NamespaceReady verdict. */
  async #ensureNamespace(
    tenant: Tenant,
    namespace: V1Namespace | undefined,
    owned: boolean,
  ): Promise<{ ok: boolean; reason: string; message: string }> {
    const userId = tenant.spec?.userId ?? "";
    const labels = namespaceLabels(tenant);
    if (!namespace) {
      await this.#core.createNamespace({
        body: {
          metadata: {
            name: userId,
            labels,
            annotations: { [UID_ANNOTATION]: tenant.metadata?.uid ?? "" },
          },
        },
      });
      return { ok: true, reason: "NamespaceActive", message: `namespace ${userId} is active` };
    }
    if (!owned) {
      return {
        ok: false,
        reason: "NamespaceConflict",
        message: `namespace ${userId} exists and is not owned by this tenant`,
      };
    }
    if (namespace.metadata?.deletionTimestamp) {
      return {
        ok: false,
        reason: "NamespaceTerminating",
        message: `namespace ${userId} is being deleted`,
      };
    }
    const current = namespace.metadata?.labels ?? {};
    if (Object.entries(labels).some(([key, value]) => current[key] !== value)) {
      const body = structuredClone(namespace);
      body.metadata!.labels = { ...current, ...labels };
      await this.#core.replaceNamespace({ name: userId, body });
    }
    return { ok: true, reason: "NamespaceActive", message: `namespace ${userId} is active` };
  }

  /** Writes status through the status subresource when it changed. */
  async #writeStatus(
    tenant: Tenant,
    verdict: { ok: boolean; reason: string; message: string },
  ): Promise<void> {
    const generation = tenant.metadata?.generation;
    const previous = tenant.status?.conditions ?? [];
    const now = new Date().toISOString();
    const condition = (type: string, reason: string, message: string): Condition => {
      const status = verdict.ok ? "True" : "False";
      const before = previous.find((c) => c.type === type);
      return {
        type,
        status,
        reason,
        message,
        lastTransitionTime: before?.status === status ? before.lastTransitionTime : now,
        observedGeneration: generation,
      };
    };
    const status = {
      observedGeneration: generation,
      ...(verdict.ok ? { namespace: tenant.spec?.userId } : {}),
      conditions: [
        condition("NamespaceReady", verdict.reason, verdict.message),
        condition(
          "TenantReady",
          verdict.ok ? "Ready" : verdict.reason,
          verdict.ok ? "tenant is ready" : verdict.message,
        ),
      ],
    };
    if (canonical(status) === canonical(tenant.status ?? {})) return;
    await this.#custom.replaceClusterCustomObjectStatus({
      ...TENANTS,
      name: tenant.metadata?.name ?? "",
      body: { ...tenant, status },
    });
  }
}

/**
 * Lists and watches through `informer` until its cache holds the current state (retrying a failed
 * list every second), then keeps it running: client-node's informer stops on errors, so every
 * error restarts it after a second, as its documentation advises.
 */
async function startInformer<T extends KubernetesObject>(
  informer: Cached<T>,
  what: string,
): Promise<void> {
  let synced = false;
  let failed: unknown;
  informer.on("error", (error: unknown) => {
    if (!synced) {
      failed = error;
      return;
    }
    console.error(`peer: ${what} informer failed, restarting: ${describe(error)}`);
    setTimeout(() => informer.start(), 1000);
  });
  for (;;) {
    failed = undefined;
    await informer.start();
    if (failed === undefined) break;
    console.error(`peer: listing ${what} failed, retrying: ${describe(failed)}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  synced = true;
}

function describe(error: unknown): string {
  if (error instanceof ApiException) return `${error.code} ${JSON.stringify(error.body)}`;
  return error instanceof Error ? error.message : String(error);
}

/** Runs the peer until SIGTERM or SIGINT. */
async function main(args: string[]): Promise<void> {
  const options = parsePeerOptions(args);
  const kc = new KubeConfig();
  kc.loadFromFile(options.kubeconfig);
  shareConnections(kc);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const tenants: Cached<Tenant> = makeInformer(
    kc,
    `/apis/${TENANTS.group}/${TENANTS.version}/${TENANTS.plural}`,
    () => custom.listClusterCustomObject(TENANTS),
  );
  const namespaces: Cached<V1Namespace> = makeInformer(
    kc,
    "/api/v1/namespaces",
    () => core.listNamespace(),
  );
  const queue = new PeerQueue();
  // Tenant uid -> name, an index over the Tenant cache: a namespace names its owner by uid in its
  // annotation, which survives an edit of its labels.
  const owners = new Map<string, string>();
  const enqueue = (tenant: Tenant) => queue.add(tenant.metadata?.name ?? "");
  tenants.on("add", (tenant: Tenant) => {
    owners.set(tenant.metadata?.uid ?? "", tenant.metadata?.name ?? "");
    enqueue(tenant);
  });
  tenants.on("update", enqueue);
  tenants.on("delete", (tenant: Tenant) => {
    owners.delete(tenant.metadata?.uid ?? "");
    enqueue(tenant);
  });
  const enqueueOwner = (namespace: V1Namespace) => {
    const owner = owners.get(namespace.metadata?.annotations?.[UID_ANNOTATION] ?? "");
    const labels = namespace.metadata?.labels ?? {};
    if (owner) queue.add(owner);
    else if (labels[MANAGED_BY_LABEL] === MANAGED_BY_VALUE && labels[TENANT_LABEL]) {
      queue.add(labels[TENANT_LABEL]);
    }
  };
  namespaces.on("add", enqueueOwner);
  namespaces.on("update", enqueueOwner);
  namespaces.on("delete", enqueueOwner);

  const stop = () => {
    queue.shutDown();
    tenants.stop();
    namespaces.stop();
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);

  // Workers start once both caches hold the current state (controller-runtime's WaitForCacheSync).
  await startInformer(tenants, "tenants");
  await startInformer(namespaces, "namespaces");
  const resync = setInterval(() => {
    for (const tenant of tenants.list()) enqueue(tenant);
  }, options.resyncPeriodMs);
  const reconciler = new TenantReconciler(kc, { tenants, namespaces });
  const worker = async () => {
    for (;;) {
      const name = await queue.get();
      if (name === undefined) return;
      try {
        await reconciler.reconcile(name);
        queue.forget(name);
      } catch (error) {
        // 409 and 404 come from a cache behind the server: retried once the cache caught up.
        if (!isCode(error, 409) && !isCode(error, 404)) {
          console.error(`peer: tenant ${name}: ${describe(error)}`);
        }
        queue.addRateLimited(name);
      } finally {
        queue.done(name);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  clearInterval(resync);
  Deno.exit(0);
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (error) {
    if (!(error instanceof PeerOptionsError)) throw error;
    console.error(error.message);
    Deno.exit(2);
  }
}
