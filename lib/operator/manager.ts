// Wires the operator together (controller-runtime's "manager"): the client,
// the Tenant and managed-Namespace watches feeding the work queue, the
// periodic resync, the tenant controller as the queue's handler, and the
// health/readiness view of the watches.
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, TENANT_LABEL, TENANT_RESOURCE } from "../api/mod.ts";
import {
  events,
  type KubeClient,
  type KubeObjectBase,
  namespaces,
  type WatchHealth,
  type WatchTimings,
} from "../client/mod.ts";
import { EventRecorder } from "../controller/event_recorder.ts";
import { TenantController } from "../controller/tenant_controller.ts";
import type { Registry } from "../metrics/registry.ts";
import { WorkQueue } from "../queue/work_queue.ts";
import { backoffDelay } from "../queue/backoff.ts";
import { sleep } from "../client/backoff.ts";
import { log } from "../log.ts";
import type { Readiness } from "./endpoints.ts";

/** The controller name used in logs and metric labels. */
export const CONTROLLER_NAME = "tenant";

/** What the manager needs besides the client. */
export interface ManagerOptions {
  /** Tenants reconciled at the same time. */
  concurrency: number;
  /** Period of the safety-net resync, in ms. */
  resyncPeriodMs: number;
  /** Metrics registry. */
  metrics: Registry;
  /** `reportingInstance` of Events (pod or host name). */
  instance: string;
  /** Watch timing overrides (tests). */
  watchTimings?: WatchTimings;
}

/** The Tenant controller's runtime: watches, queue, resync and workers. */
export class Manager {
  readonly #client: KubeClient;
  readonly #options: ManagerOptions;
  readonly #queue: WorkQueue;
  readonly #controller: TenantController;
  readonly #health = new Map<string, WatchHealth>();
  readonly #tenantNames = new Set<string>();

  /** Builds the manager; nothing runs until {@linkcode run}. */
  constructor(client: KubeClient, options: ManagerOptions) {
    this.#client = client;
    this.#options = options;
    this.#queue = new WorkQueue({
      name: CONTROLLER_NAME,
      concurrency: options.concurrency,
      metrics: options.metrics,
      onError: (key, error, retryInMs) =>
        log("controller").warn("tenant {tenant}: {error}; retrying in {delay} ms", {
          tenant: key,
          error: error instanceof Error ? error.message : String(error),
          delay: Math.round(retryInMs),
        }),
    });
    const recorder = new EventRecorder(client.resource(events), {
      component: MANAGED_BY_VALUE,
      instance: options.instance,
    });
    this.#controller = new TenantController(client, { recorder });
  }

  /** The work queue (for metrics and tests). */
  get queue(): WorkQueue {
    return this.#queue;
  }

  /**
   * Ready when both watches have delivered their initial state and received
   * bytes (or reconnected) within the inactivity window.
   */
  readiness(now: number = Date.now()): Readiness {
    const window = (this.#options.watchTimings?.inactivityTimeoutMs ?? 70_000) + 30_000;
    for (const name of ["tenants", "namespaces"]) {
      const health = this.#health.get(name);
      if (!health?.synced) return { ready: false, detail: `${name} watch not synced` };
      if (now - health.lastEventAt > window) {
        return {
          ready: false,
          detail: `${name} watch silent for ${Math.round((now - health.lastEventAt) / 1000)} s`,
        };
      }
    }
    return { ready: true, detail: "watches synced" };
  }

  /** Runs until `signal` aborts, then finishes in-flight reconciles and returns. */
  async run(signal: AbortSignal): Promise<void> {
    const watches = new AbortController();
    const resync = setInterval(() => this.#resync(), this.#options.resyncPeriodMs);
    const tenantWatch = this.#watchTenants(watches.signal);
    const namespaceWatch = this.#watchNamespaces(watches.signal);
    log("manager").info("tenant controller started with {concurrency} workers", {
      concurrency: this.#options.concurrency,
    });
    try {
      await this.#queue.run(
        (name, workerSignal) => this.#controller.reconcile(name, workerSignal),
        signal,
      );
    } finally {
      clearInterval(resync);
      watches.abort();
      await Promise.allSettled([tenantWatch, namespaceWatch]);
      log("manager").info("tenant controller stopped");
    }
  }

  #resync(): void {
    log("manager").debug("resync of {count} tenants", { count: this.#tenantNames.size });
    for (const name of this.#tenantNames) this.#queue.add(name);
  }

  #watchTenants(signal: AbortSignal): Promise<void> {
    return this.#consume("tenants", signal, async () => {
      const watch = this.#client.resource<KubeObjectBase>(TENANT_RESOURCE).watch({
        signal,
        metadataOnly: true,
        timings: this.#options.watchTimings,
        onHealth: (health) => this.#health.set("tenants", health),
      });
      for await (const event of watch) {
        if (event.type === "SYNCED") continue;
        const name = event.object.metadata?.name;
        if (!name) continue;
        if (event.type === "DELETED") this.#tenantNames.delete(name);
        else this.#tenantNames.add(name);
        this.#queue.add(name);
      }
    });
  }

  #watchNamespaces(signal: AbortSignal): Promise<void> {
    return this.#consume("namespaces", signal, async () => {
      const watch = this.#client.resource<KubeObjectBase>(namespaces).watch({
        signal,
        metadataOnly: true,
        labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
        timings: this.#options.watchTimings,
        onHealth: (health) => this.#health.set("namespaces", health),
      });
      for await (const event of watch) {
        if (event.type === "SYNCED") continue;
        const owner = event.object.metadata?.labels?.[TENANT_LABEL];
        if (owner) this.#queue.add(owner);
      }
    });
  }

  /**
   * Runs a watch loop until `signal` aborts. The resumable watch handles every
   * API and connection failure itself; anything else that escapes is logged,
   * marks the watch unhealthy (readiness fails) and restarts it with backoff.
   */
  async #consume(name: string, signal: AbortSignal, loop: () => Promise<void>): Promise<void> {
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        await loop();
      } catch (error) {
        if (signal.aborted) return;
        const delay = backoffDelay({ initialMs: 800, maxMs: 30_000 }, attempt);
        log("manager").error("{watch} watch failed: {error}; restarting in {delay} ms", {
          watch: name,
          error: error instanceof Error ? error.message : String(error),
          delay: Math.round(delay),
        });
        this.#health.set(name, { synced: false, lastEventAt: 0, restarts: attempt + 1 });
        await sleep(delay, signal).catch(() => {});
      }
    }
  }
}
