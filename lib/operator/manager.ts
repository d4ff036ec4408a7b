// Wires the operator together (controller-runtime's "manager"): the client,
// the Tenant, managed-Namespace and per-tenant object watches feeding the work
// queue, the plan catalogue (and its ConfigMap watch), integration discovery
// on a timer, the periodic resync, the tenant controller as the queue's
// handler, and the health/readiness view of the watches.
import {
  ConditionType,
  EventReason,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  Reason,
  TENANT_LABEL,
  TENANT_PLAN_LABEL,
  TENANT_RESOURCE,
  TENANT_UID_ANNOTATION,
  type TenantStatus,
} from "../api/mod.ts";
import {
  events,
  type KubeClient,
  type KubeObjectBase,
  limitRanges,
  namespaces,
  networkPolicies,
  type ResourceDescriptor,
  resourceQuotas,
  type WatchHealth,
  type WatchTimings,
} from "../client/mod.ts";
import {
  builtinCatalogue,
  changedPlans,
  constraintKinds,
  describeSource,
  type LoadedPlans,
  type PlanCatalogue,
  type PlanSource,
  watchPlans,
} from "../plans/mod.ts";
import {
  DEFAULT_GATEWAY_HOSTS,
  DEFAULT_INGRESS_NAMESPACE,
  type Integrations,
  NO_INTEGRATIONS,
  observationKey,
  type PlanContext,
  sameIntegrations,
} from "../reconcile/mod.ts";
import { discoverIntegrations } from "./integrations.ts";
import type { LeaderElector } from "../leader/election.ts";
import { TenantMetrics } from "./tenant_metrics.ts";
import { EventRecorder } from "../controller/event_recorder.ts";
import { TenantController } from "../controller/tenant_controller.ts";
import type { Registry } from "../metrics/registry.ts";
import { WorkQueue } from "../queue/work_queue.ts";
import { backoffDelay, sleep } from "../backoff.ts";
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
  /** The catalogue in force at start and its source (default: the built-in catalogue). */
  plans?: LoadedPlans;
  /** Namespace of the ingress gateway (default `istio-system`). */
  ingressNamespace?: string;
  /** Gateway host templates (default `*.{username}.apps.example.com`). */
  gatewayHosts?: readonly string[];
  /** Period of the integration discovery, in ms (default 60 s; also run on every resync). */
  discoveryIntervalMs?: number;
}

/** Longest wait for a watch's initial state before the next watch starts anyway. */
const START_IN_TURN_TIMEOUT_MS = 10_000;

/** Default period of the integration discovery. */
export const DEFAULT_DISCOVERY_INTERVAL_MS = 60_000;

/** Per-tenant object kinds always served, watched for drift and deletion. */
const BUILTIN_OBJECT_KINDS: readonly ResourceDescriptor[] = [
  resourceQuotas,
  limitRanges,
  networkPolicies,
];

/** The Tenant controller's runtime: watches, queue, resync and workers. */
export class Manager {
  readonly #client: KubeClient;
  readonly #options: ManagerOptions;
  readonly #queue: WorkQueue;
  readonly #controller: TenantController;
  /** Live health of the running watches, by watch name (read by {@linkcode readiness}). */
  readonly #watches = new Map<string, { health(): WatchHealth }>();
  /** Tenant name -> uid and uid -> name, from the tenant watch (names only, no objects). */
  readonly #tenantUids = new Map<string, string>();
  readonly #tenantNames = new Map<string, string>();
  readonly #recorder: EventRecorder;
  readonly #source: PlanSource;
  #catalogue: PlanCatalogue;
  #integrations: Integrations = NO_INTEGRATIONS;
  /** Watches of integration kinds, by observation key, stopped when a kind stops being served. */
  readonly #kindWatches = new Map<string, AbortController>();
  #discovering?: Promise<void>;
  readonly #metrics: TenantMetrics;
  /** Called when the named watch first reports its initial state delivered. */
  readonly #syncWaiters = new Map<string, () => void>();
  /** Namespace name -> tenants in NamespaceConflict over it, and the reverse. */
  readonly #waiters = new Map<string, Set<string>>();
  readonly #waitingOn = new Map<string, string>();

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
    this.#recorder = new EventRecorder(client.resource(events), {
      component: MANAGED_BY_VALUE,
      instance: options.instance,
    });
    const plans = options.plans ?? { catalogue: builtinCatalogue(), source: { kind: "builtin" } };
    this.#catalogue = plans.catalogue;
    this.#source = plans.source;
    this.#metrics = new TenantMetrics(options.metrics);
    this.#controller = new TenantController(client, {
      recorder: this.#recorder,
      context: () => this.context,
      onStatus: (name, status, namespace) => {
        this.#metrics.tenantStatus(name, status);
        this.#noteWaiting(name, status, namespace);
      },
    });
  }

  /** The plan context reconciles use now: current catalogue, served integrations, settings. */
  get context(): PlanContext {
    return {
      catalogue: this.#catalogue,
      integrations: this.#integrations,
      ingressNamespace: this.#options.ingressNamespace ?? DEFAULT_INGRESS_NAMESPACE,
      gatewayHosts: this.#options.gatewayHosts ?? DEFAULT_GATEWAY_HOSTS,
    };
  }

  /** The work queue (for metrics and tests). */
  get queue(): WorkQueue {
    return this.#queue;
  }

  /**
   * Ready when the Tenant and Namespace watches have delivered their initial
   * state and received bytes within twice the inactivity timeout (servers send
   * bookmarks about once a minute, so a healthy watch is never that quiet).
   */
  readiness(now: number = Date.now()): Readiness {
    const window = 2 * (this.#options.watchTimings?.inactivityTimeoutMs ?? 70_000);
    for (const name of ["tenants", "namespaces"]) {
      const health = this.#watches.get(name)?.health();
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

  /**
   * Runs until `signal` aborts, then finishes in-flight reconciles and returns `"stopped"`.
   * With an `election`, the watches run (and readiness reflects them) on every replica, but
   * reconciles only while this replica holds the Lease; returns `"lost"` when leadership is
   * lost, after aborting in-flight reconciles.
   */
  async run(
    signal: AbortSignal,
    options: { election?: LeaderElector } = {},
  ): Promise<"stopped" | "lost"> {
    const watches = new AbortController();
    await this.#discover(watches.signal);
    const resync = setInterval(() => this.#resync(watches.signal), this.#options.resyncPeriodMs);
    const discovery = setInterval(
      () => this.#discover(watches.signal),
      this.#options.discoveryIntervalMs ?? DEFAULT_DISCOVERY_INTERVAL_MS,
    );
    const loops = [this.#watchTenants(watches.signal)];
    if (this.#source.kind === "configMap") {
      loops.push(this.#watchCatalogue(this.#source, watches.signal));
    }
    const starting = this.#startInTurn(loops, [
      ["namespaces", () => this.#watchNamespaces(watches.signal)],
      ...BUILTIN_OBJECT_KINDS.map((resource): [string, () => Promise<void>] => [
        observationKey(resource),
        () => this.#watchObjects(resource, watches.signal),
      ]),
    ], watches.signal);
    log("manager").info(
      "tenant controller started with {concurrency} workers, {plans} plans from {source}",
      {
        concurrency: this.#options.concurrency,
        plans: this.#catalogue.plans.size,
        source: describeSource(this.#source),
      },
    );
    // Workers start once every watch has delivered its initial state (as controller-runtime
    // waits for its caches): the initial events of the later watches then coalesce with the
    // tenants already queued instead of reconciling each tenant twice.
    const work = async (leading: AbortSignal) => {
      await starting;
      await this.#queue.run(
        (name, workerSignal) => this.#controller.reconcile(name, workerSignal),
        leading,
      );
    };
    try {
      if (!options.election) {
        await work(signal);
        return "stopped";
      }
      return await options.election.run(work, signal);
    } finally {
      clearInterval(resync);
      clearInterval(discovery);
      watches.abort();
      for (const watch of this.#kindWatches.values()) watch.abort();
      await starting;
      await Promise.allSettled([...loops, this.#discovering]);
      log("manager").info("tenant controller stopped");
    }
  }

  /**
   * Remembers which tenants wait for a namespace another tenant owns (NamespaceConflict), so
   * that an event on that namespace (its owner deleting it) wakes them at once instead of at
   * their next conflict requeue. Only conflicting tenants are remembered.
   */
  #noteWaiting(tenant: string, status: TenantStatus | undefined, namespace?: string): void {
    const previous = this.#waitingOn.get(tenant);
    const conflict = status?.conditions?.some((condition) =>
      condition.type === ConditionType.NamespaceReady &&
      condition.reason === Reason.NamespaceConflict
    );
    const next = conflict ? namespace : undefined;
    if (previous === next) return;
    if (previous !== undefined) {
      const waiters = this.#waiters.get(previous);
      waiters?.delete(tenant);
      if (waiters?.size === 0) this.#waiters.delete(previous);
      this.#waitingOn.delete(tenant);
    }
    if (next !== undefined) {
      let waiters = this.#waiters.get(next);
      if (!waiters) this.#waiters.set(next, waiters = new Set());
      waiters.add(tenant);
      this.#waitingOn.set(tenant, next);
    }
  }

  /** Records a tenant's uid (undefined: the tenant is gone). */
  #trackTenant(name: string, uid: string | undefined): void {
    const previous = this.#tenantUids.get(name);
    if (previous !== undefined && previous !== uid) this.#tenantNames.delete(previous);
    if (uid === undefined) {
      this.#tenantUids.delete(name);
      return;
    }
    this.#tenantUids.set(name, uid);
    this.#tenantNames.set(uid, name);
  }

  /**
   * The tenant a managed object belongs to: its `kleff.io/tenant` label, or, when someone
   * removed that, the tenant whose uid its `kleff.io/tenant-uid` annotation names.
   */
  #ownerOf(object: KubeObjectBase): string | undefined {
    const metadata = object.metadata;
    return metadata?.labels?.[TENANT_LABEL] ??
      this.#tenantNames.get(metadata?.annotations?.[TENANT_UID_ANNOTATION] ?? "");
  }

  #onHealth(watch: string, health: WatchHealth): void {
    this.#metrics.watchHealth(watch, health);
    if (health.synced) this.#syncWaiters.get(watch)?.();
  }

  /**
   * Starts the `next` watches one after the other, each once the one before delivered its
   * initial state (or after {@linkcode START_IN_TURN_TIMEOUT_MS}), the tenant watch first;
   * resolves when the last one has (or the same timeout passed).
   * Streaming lists of thousands of objects arrive one HTTP chunk per object, and taking them
   * in turn rather than all at once keeps the start-up memory peak lower.
   */
  async #startInTurn(
    loops: Promise<void>[],
    next: [string, () => Promise<void>][],
    signal: AbortSignal,
  ): Promise<void> {
    let previous = "tenants";
    for (const [name, start] of [...next, ["", undefined] as const]) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          this.#syncWaiters.delete(previous);
          resolve();
        };
        const timer = setTimeout(done, START_IN_TURN_TIMEOUT_MS);
        signal.addEventListener("abort", done, { once: true });
        if (this.#watches.get(previous)?.health().synced) done();
        else this.#syncWaiters.set(previous, done);
      });
      if (signal.aborted || start === undefined) return;
      loops.push(start());
      previous = name;
    }
  }

  #resync(signal: AbortSignal): void {
    log("manager").debug("resync of {count} tenants", { count: this.#tenantUids.size });
    for (const name of this.#tenantUids.keys()) this.#queue.add(name);
    this.#discover(signal);
  }

  /**
   * Re-reads which integration kinds are served; on a change, starts or stops their watches and
   * reconciles every tenant. A failed discovery keeps what was known. One at a time.
   */
  #discover(signal: AbortSignal): Promise<void> {
    this.#discovering ??= (async () => {
      try {
        const found = await discoverIntegrations(this.#client, constraintKinds(this.#catalogue), {
          signal,
        });
        if (sameIntegrations(found, this.#integrations)) return;
        const served = [
          found.gateway,
          found.authorizationPolicy,
          ...Object.values(found.constraints),
        ]
          .filter((resource): resource is ResourceDescriptor => resource !== undefined);
        log("manager").info("integrations served: {kinds}", {
          kinds: served.map(observationKey).join(", ") || "none",
        });
        this.#integrations = found;
        this.#syncKindWatches(served, signal);
        for (const name of this.#tenantUids.keys()) this.#queue.add(name);
      } catch (error) {
        if (signal.aborted) return;
        log("manager").warn("discovery of integrations failed: {error}", {
          error: error instanceof Error ? error.message : String(error),
        });
      } finally {
        this.#discovering = undefined;
      }
    })();
    return this.#discovering;
  }

  /** Watches exactly the `served` integration kinds. */
  #syncKindWatches(served: ResourceDescriptor[], signal: AbortSignal): void {
    const wanted = new Map(served.map((resource) => [JSON.stringify(resource), resource]));
    for (const [key, watch] of this.#kindWatches) {
      if (!wanted.has(key)) {
        watch.abort();
        this.#kindWatches.delete(key);
      }
    }
    for (const [key, resource] of wanted) {
      if (this.#kindWatches.has(key) || signal.aborted) continue;
      const watch = new AbortController();
      signal.addEventListener("abort", () => watch.abort(), { once: true });
      this.#kindWatches.set(key, watch);
      this.#watchObjects(resource, watch.signal);
    }
  }

  /** Watches per-tenant objects of one kind (labelled managed) and reconciles their tenant. */
  #watchObjects(resource: ResourceDescriptor, signal: AbortSignal): Promise<void> {
    const name = observationKey(resource);
    return this.#consume(name, signal, async () => {
      const watch = this.#client.resource<KubeObjectBase>(resource).watch({
        signal,
        metadataOnly: true,
        labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
        timings: this.#options.watchTimings,
        onHealth: (health) => this.#onHealth(name, health),
      });
      this.#watches.set(name, watch);
      for await (const event of watch) {
        if (event.type === "SYNCED") continue;
        const owner = this.#ownerOf(event.object);
        if (owner) this.#queue.add(owner);
      }
    });
  }

  /**
   * Follows the catalogue ConfigMap: a valid edit takes effect and reconciles the tenants of
   * every changed plan; an invalid one is refused with a log line and a Warning Event on the
   * ConfigMap, the last good catalogue staying in force.
   */
  #watchCatalogue(
    source: Extract<PlanSource, { kind: "configMap" }>,
    signal: AbortSignal,
  ): Promise<void> {
    return this.#consume("plans", signal, async () => {
      const updates = watchPlans(this.#client, source, {
        signal,
        timings: this.#options.watchTimings,
        onHealth: (health) => this.#onHealth("plans", health),
      });
      for await (const update of updates) {
        if (update.kind === "deleted") {
          log("manager").warn("{source} was deleted: the last good plan catalogue stays in force", {
            source: describeSource(source),
          });
        } else if (update.kind === "invalid") {
          log("manager").error("{error}; the last good plan catalogue stays in force", {
            error: update.error.message,
          });
          await this.#recorder.record(
            { apiVersion: "v1", kind: "ConfigMap", ...update.configMap },
            {
              type: "Warning",
              reason: EventReason.InvalidPlanCatalogue,
              message: `${update.error.message}\nthe last good plan catalogue stays in force`,
            },
          );
        } else {
          const changed = changedPlans(this.#catalogue, update.catalogue);
          if (changed.length === 0) continue;
          const kindsBefore = constraintKinds(this.#catalogue).join();
          this.#catalogue = update.catalogue;
          log("manager").info("plan catalogue updated from {source}: plans {plans} changed", {
            source: describeSource(source),
            plans: changed.join(", "),
          });
          if (constraintKinds(update.catalogue).join() !== kindsBefore) {
            await this.#discover(signal);
          }
          await this.#enqueuePlans(changed, signal);
        }
      }
    });
  }

  /** Reconciles every tenant whose namespace is labelled with one of `plans`. */
  async #enqueuePlans(plans: string[], signal: AbortSignal): Promise<void> {
    const list = await this.#client.resource<KubeObjectBase>(namespaces).list({
      labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE},${TENANT_PLAN_LABEL} in (${
        plans.join(",")
      })`,
      signal,
    });
    for (const namespace of list.items) {
      const owner = namespace.metadata?.labels?.[TENANT_LABEL];
      if (owner) this.#queue.add(owner);
    }
  }

  #watchTenants(signal: AbortSignal): Promise<void> {
    return this.#consume("tenants", signal, async () => {
      const watch = this.#client.resource<KubeObjectBase>(TENANT_RESOURCE).watch({
        signal,
        metadataOnly: true,
        timings: this.#options.watchTimings,
        onHealth: (health) => this.#onHealth("tenants", health),
      });
      this.#watches.set("tenants", watch);
      for await (const event of watch) {
        if (event.type === "SYNCED") continue;
        const name = event.object.metadata?.name;
        if (!name) continue;
        this.#trackTenant(name, event.type === "DELETED" ? undefined : event.object.metadata?.uid);
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
        onHealth: (health) => this.#onHealth("namespaces", health),
      });
      this.#watches.set("namespaces", watch);
      for await (const event of watch) {
        if (event.type === "SYNCED") continue;
        const owner = this.#ownerOf(event.object);
        if (owner) this.#queue.add(owner);
        for (const waiter of this.#waiters.get(event.object.metadata?.name ?? "") ?? []) {
          this.#queue.add(waiter);
        }
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
        const failed = { synced: false, lastEventAt: 0, restarts: attempt + 1 };
        this.#watches.set(name, { health: () => failed });
        await sleep(delay, signal).catch(() => {});
      }
    }
  }
}
