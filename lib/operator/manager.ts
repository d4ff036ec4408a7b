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
  type PlanCatalogue,
} from "../plans/mod.ts";
import { describeSource, type LoadedPlans, type PlanSource, watchPlans } from "./plan_source.ts";
import {
  DEFAULT_GATEWAY_HOSTS,
  DEFAULT_INGRESS_NAMESPACE,
  type Integrations,
  NO_INTEGRATIONS,
  observationKey,
  type PlanContext,
  sameIntegrations,
  servedKinds,
} from "../reconcile/mod.ts";
import { discoverIntegrations } from "./integrations.ts";
import type { LeaderElector } from "../leader/election.ts";
import { TenantMetrics } from "./tenant_metrics.ts";
import { EventRecorder } from "../controller/event_recorder.ts";
import { TenantController } from "../controller/tenant_controller.ts";
import type { Registry } from "../metrics/registry.ts";
import { WorkQueue } from "../queue/work_queue.ts";
import { Backoff, sleep } from "../backoff.ts";
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

/** A watch loop running this long without failing restarts its backoff from the start. */
const LOOP_BACKOFF_RESET_MS = 120_000;

/** Default period of the integration discovery. */
export const DEFAULT_DISCOVERY_INTERVAL_MS = 60_000;

/** Per-tenant object kinds always served, watched for drift and deletion. */
const BUILTIN_OBJECT_KINDS: readonly ResourceDescriptor[] = [
  resourceQuotas,
  limitRanges,
  networkPolicies,
];

/** A watch to start in turn: its name, and what starts it (`undefined`: nothing started). */
type WatchStart = [string, () => Promise<void> | undefined];

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
  /**
   * Watches of integration kinds, by descriptor (a new version is a new watch), stopped when a
   * kind stops being served; `#kindLoops` holds every such loop still running.
   */
  readonly #kindWatches = new Map<string, AbortController>();
  readonly #kindLoops = new Set<Promise<void>>();
  /** Whether integration kinds are watched yet (they start after the built-in kinds). */
  #watchingKinds = false;
  /** The discovery running, the one queued after it, and the catalogue the next one brings in. */
  #discovering?: Promise<void>;
  #queuedDiscovery?: Promise<void>;
  #nextCatalogue?: PlanCatalogue;
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
      ...BUILTIN_OBJECT_KINDS.map((resource): WatchStart => [
        observationKey(resource),
        () => this.#watchObjects(resource, watches.signal),
      ]),
      ...servedKinds(this.#integrations).map((resource): WatchStart => [
        observationKey(resource),
        () => this.#watchKind(resource, watches.signal),
      ]),
    ], watches.signal).then(() => {
      this.#watchingKinds = true;
      this.#syncKindWatches(watches.signal);
    });
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
      this.#kindWatches.clear();
      await starting;
      await Promise.allSettled([
        ...loops,
        this.#discovering,
        this.#queuedDiscovery,
        ...this.#kindLoops,
      ]);
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
   * resolves when the last one has (or the same timeout passed). A start that starts nothing
   * (returns `undefined`) is not waited for.
   * Streaming lists of thousands of objects arrive one HTTP chunk per object, and taking them
   * in turn rather than all at once keeps the start-up memory peak lower.
   */
  async #startInTurn(
    loops: Promise<void>[],
    next: WatchStart[],
    signal: AbortSignal,
  ): Promise<void> {
    let previous: string | undefined = "tenants";
    for (const [name, start] of [...next, ["", undefined] as const]) {
      if (previous !== undefined) await this.#initialState(previous, signal);
      if (signal.aborted || start === undefined) return;
      const started = start();
      if (started !== undefined) loops.push(started);
      previous = started === undefined ? undefined : name;
    }
  }

  /** Resolves once watch `name` delivered its initial state, after a timeout, or on abort. */
  #initialState(name: string, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.#syncWaiters.delete(name);
        resolve();
      };
      const timer = setTimeout(done, START_IN_TURN_TIMEOUT_MS);
      signal.addEventListener("abort", done, { once: true });
      if (this.#watches.get(name)?.health().synced) done();
      else this.#syncWaiters.set(name, done);
    });
  }

  #resync(signal: AbortSignal): void {
    log("manager").debug("resync of {count} tenants", { count: this.#tenantUids.size });
    for (const name of this.#tenantUids.keys()) this.#queue.add(name);
    this.#discover(signal);
  }

  /**
   * Re-reads which integration kinds are served; on a change, starts or stops their watches and
   * reconciles every tenant. A failed discovery keeps what was known. With `catalogue`, that
   * catalogue takes effect together with what is found for its constraint kinds (or, should
   * discovery fail, with what was known). One at a time: a call while one runs queues one more
   * run (shared by every call until it starts, with the catalogue then pending) and resolves
   * when that run is done.
   */
  #discover(signal: AbortSignal, catalogue?: PlanCatalogue): Promise<void> {
    if (catalogue !== undefined) this.#nextCatalogue = catalogue;
    if (this.#queuedDiscovery !== undefined) return this.#queuedDiscovery;
    const running = this.#discovering;
    const start = () => this.#runDiscovery(run, signal);
    const run: Promise<void> = (running ?? Promise.resolve()).then(start, start);
    if (running === undefined) this.#discovering = run;
    else this.#queuedDiscovery = run;
    return run;
  }

  /** Runs discovery `run`, the queued one until now. */
  async #runDiscovery(run: Promise<void>, signal: AbortSignal): Promise<void> {
    if (this.#queuedDiscovery === run) this.#queuedDiscovery = undefined;
    this.#discovering = run;
    try {
      await this.#discoverOnce(signal);
    } finally {
      if (this.#discovering === run) this.#discovering = undefined;
    }
  }

  async #discoverOnce(signal: AbortSignal): Promise<void> {
    const pending = this.#nextCatalogue;
    this.#nextCatalogue = undefined;
    // The catalogue's constraint kinds and every kind known so far: a kind dropped from the
    // catalogue stays known while it is served, so that constraints of that kind are still
    // pruned and torn down. A restart forgets such kinds: their constraints are then left alone.
    const kinds = new Set([
      ...constraintKinds(pending ?? this.#catalogue),
      ...Object.keys(this.#integrations.constraints),
    ]);
    let found = this.#integrations;
    try {
      found = await discoverIntegrations(this.#client, kinds, { signal });
    } catch (error) {
      if (signal.aborted) return;
      log("manager").warn("discovery of integrations failed: {error}", {
        error: error instanceof Error ? error.message : String(error),
      });
    }
    if (pending !== undefined) this.#catalogue = pending;
    if (sameIntegrations(found, this.#integrations)) return;
    log("manager").info("integrations served: {kinds}", {
      kinds: servedKinds(found).map(observationKey).join(", ") || "none",
    });
    this.#integrations = found;
    this.#syncKindWatches(signal);
    for (const name of this.#tenantUids.keys()) this.#queue.add(name);
  }

  /**
   * Watches exactly the served integration kinds: stops the others at once, starts the missing
   * ones once integration kinds are watched at all (see {@linkcode run}).
   */
  #syncKindWatches(signal: AbortSignal): void {
    const served = servedKinds(this.#integrations);
    const wanted = new Set(served.map((resource) => JSON.stringify(resource)));
    for (const [key, watch] of this.#kindWatches) {
      if (!wanted.has(key)) {
        watch.abort();
        this.#kindWatches.delete(key);
      }
    }
    if (!this.#watchingKinds) return;
    for (const resource of served) this.#watchKind(resource, signal);
  }

  /**
   * Starts watching integration kind `resource` unless it is watched already, no longer served,
   * or the manager is stopping; returns the watch loop, or `undefined` when nothing started.
   */
  #watchKind(resource: ResourceDescriptor, signal: AbortSignal): Promise<void> | undefined {
    const key = JSON.stringify(resource);
    const served = servedKinds(this.#integrations).some((kind) => JSON.stringify(kind) === key);
    if (signal.aborted || !served || this.#kindWatches.has(key)) return undefined;
    const watch = new AbortController();
    this.#kindWatches.set(key, watch);
    const loop = this.#watchObjects(resource, watch.signal);
    const forget = () => this.#kindLoops.delete(loop);
    this.#kindLoops.add(loop);
    loop.then(forget, forget);
    return loop;
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
          log("manager").info("plan catalogue updated from {source}: plans {plans} changed", {
            source: describeSource(source),
            plans: changed.join(", "),
          });
          if (
            constraintKinds(update.catalogue).join() !== constraintKinds(this.#catalogue).join()
          ) {
            // Its new constraint kinds are discovered first, so that the catalogue takes effect
            // together with them (reconciles never see its kinds as not installed meanwhile).
            await this.#discover(signal, update.catalogue);
          } else this.#catalogue = update.catalogue;
          // Every tenant, not just those of the changed plans: no I/O that could fail and lose
          // the change, and the queue merges these with pending work.
          for (const name of this.#tenantUids.keys()) this.#queue.add(name);
        }
      }
    });
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
    const backoff = new Backoff({
      initialMs: 800,
      maxMs: 30_000,
      resetAfterMs: LOOP_BACKOFF_RESET_MS,
    });
    let failures = 0;
    while (!signal.aborted) {
      this.#metrics.watchReplaced(name);
      try {
        await loop();
      } catch (error) {
        if (signal.aborted) return;
        const delay = backoff.next();
        log("manager").error("{watch} watch failed: {error}; restarting in {delay} ms", {
          watch: name,
          error: error instanceof Error ? error.message : String(error),
          delay: Math.round(delay),
        });
        const failed = { synced: false, lastEventAt: 0, restarts: ++failures };
        this.#watches.set(name, { health: () => failed });
        await sleep(delay, signal).catch(() => {});
      }
    }
  }
}
