// Wires the operator together (controller-runtime's "manager"): the watch sources feeding the work
// queue, the tenant controller as the queue's handler, the record of its own writes between them,
// integration discovery on a timer, the plan catalogue (and its ConfigMap), the audits (of the
// watches' initial state at start-up; over listed pages at each resync and after a catalogue or
// integration change), start-up in turn and shutdown, and the readiness verdict from the
// watches' health.
import {
  ALWAYS_RESERVED_NAMESPACES,
  DEFAULT_RESERVED_NAMESPACES,
  MANAGED_BY_VALUE,
} from "../api/mod.ts";
import {
  DEFAULT_REQUEST_TIMEOUT_MS,
  events,
  type KubeClient,
  type ResourceDescriptor,
  type Tenant,
  type WatchTimings,
} from "../client/mod.ts";
import { builtinCatalogue } from "../plans/mod.ts";
import {
  DEFAULT_GATEWAY_HOSTS,
  DEFAULT_INGRESS_NAMESPACE,
  hostClaimsMatter,
  type Integrations,
  ISTIO_SYSTEM_NAMESPACE,
  observationKey,
  type PlanContext,
  servedKinds,
  tenantHosts,
} from "../reconcile/mod.ts";
import type { LeaderElector } from "../leader/mod.ts";
import { EventRecorder, OwnWrites, TenantController } from "../controller/mod.ts";
import type { Registry } from "../metrics/mod.ts";
import { WorkQueue } from "../queue/mod.ts";
import { log } from "../log.ts";
import { Audit } from "./audit.ts";
import { type AuditRecord, Audits } from "./audits.ts";
import { followCatalogue } from "./catalogue_watch.ts";
import type { Readiness } from "./endpoints.ts";
import { IntegrationDiscovery } from "./integrations.ts";
import { describeSource, type LoadedPlans, type PlanSource } from "./plan_source.ts";
import { BUILTIN_OBJECT_KINDS, NAMESPACES_WATCH, TENANTS_WATCH, WatchSources } from "./sources.ts";
import { TenantIndex } from "./tenant_index.ts";
import { TenantMetrics } from "./tenant_metrics.ts";
import { WatchGroup, type WatchStart } from "./watch_group.ts";

/** How long Events still buffered at shutdown may take to be written. */
const EVENT_FLUSH_MS = 400;

/** The controller name used in logs and metric labels. */
export const CONTROLLER_NAME = "tenant";

/** Default period of the integration discovery. */
export const DEFAULT_DISCOVERY_INTERVAL_MS = 60_000;

/** The watch inactivity timeout unless told otherwise (`--watch-inactivity-timeout`). */
export const DEFAULT_WATCH_INACTIVITY_MS = 70_000;

/**
 * The reconcile deadline, in request timeouts: a reconcile makes three rounds of requests in turn
 * (reads, writes, status), each normally far under one request timeout; past four it is aborted
 * and retried with backoff.
 */
export const RECONCILE_TIMEOUT_FACTOR = 4;

/**
 * A worker busy for this many request timeouts is stuck (its reconcile did not stop at the
 * deadline, one request timeout earlier): `/healthz` fails so that the kubelet restarts the
 * process.
 */
export const STUCK_WORKER_FACTOR = 5;

/** What the manager needs besides the client. */
export interface ManagerOptions {
  /** Tenants reconciled at the same time. */
  concurrency: number;
  /** Period of the safety-net resync (an audit over listed pages), in ms. */
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
  /**
   * Platform namespaces every tenant's Sidecar imports besides its own, the ingress namespace and
   * `istio-system` (default none); reserved like the ingress namespace.
   */
  meshEgressNamespaces?: readonly string[];
  /** Period of the integration discovery, in ms (default 60 s; also run on every resync). */
  discoveryIntervalMs?: number;
  /**
   * Namespaces no tenant may have, besides the always-reserved ones and the ingress namespace
   * (default `DEFAULT_RESERVED_NAMESPACES`): `--reserved-namespaces` and the operator's own.
   */
  reservedNamespaces?: readonly string[];
  /**
   * The client's request timeout, in ms (default 30 s): the reconcile deadline and the stuck
   * worker bound of {@linkcode Manager.liveness} are multiples of it.
   */
  requestTimeoutMs?: number;
}

/** Options of {@linkcode Manager.run}. */
export interface ManagerRunOptions {
  /** Reconcile only while holding this Lease (watches run on every replica). */
  election?: LeaderElector;
}

/** The Tenant controller's runtime: watches, queue, resync and workers. */
export class Manager {
  readonly #client: KubeClient;
  readonly #options: ManagerOptions;
  readonly #queue: WorkQueue<Tenant>;
  readonly #controller: TenantController;
  readonly #ownWrites = new OwnWrites();
  readonly #metrics: TenantMetrics;
  readonly #recorder: EventRecorder;
  readonly #source: PlanSource;
  readonly #index: TenantIndex;
  readonly #group: WatchGroup;
  readonly #sources: WatchSources;
  readonly #discovery: IntegrationDiscovery;
  /**
   * Set once start-up has started every built-in watch: the signal that stops what starts from
   * then on (integration kind watches, audit passes).
   */
  #started?: AbortSignal;
  /** Every reserved namespace entry (see {@linkcode context}), computed once. */
  #reserved?: readonly string[];
  /** Whether queued tenants carry their watched Tenant: once this replica reconciles. */
  #carry = false;
  /** The audit passes over listed pages (resync, catalogue or integration change). */
  readonly #audits: Audits;
  /** Whether an audit pass was asked for during start-up: its audit saw some tenants before. */
  #auditAfterStart = false;

  /** Builds the manager; nothing runs until {@linkcode run}. */
  constructor(client: KubeClient, options: ManagerOptions) {
    this.#client = client;
    this.#options = options;
    this.#queue = new WorkQueue<Tenant>({
      name: CONTROLLER_NAME,
      concurrency: options.concurrency,
      metrics: options.metrics,
      timeoutMs: RECONCILE_TIMEOUT_FACTOR * this.#requestTimeoutMs,
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
      metrics: options.metrics,
      busy: () => this.#queue.depth > 0,
    });
    this.#index = new TenantIndex({
      gatewayHosts: options.gatewayHosts ?? DEFAULT_GATEWAY_HOSTS,
    });
    const plans = options.plans ?? { catalogue: builtinCatalogue(), source: { kind: "builtin" } };
    this.#source = plans.source;
    const metrics = this.#metrics = new TenantMetrics(options.metrics);
    this.#group = new WatchGroup(metrics);
    this.#sources = new WatchSources(client, {
      queue: this.#queue,
      index: this.#index,
      group: this.#group,
      ownWrites: this.#ownWrites,
      carry: () => this.#carry,
      relisted: (watch) => this.#relisted(watch),
      timings: options.watchTimings,
    });
    this.#discovery = new IntegrationDiscovery(client, {
      catalogue: plans.catalogue,
      onChange: (integrations) => this.#integrationsChanged(integrations),
    });
    this.#audits = new Audits(client, {
      index: this.#index,
      context: () => this.context,
      kinds: () => [...BUILTIN_OBJECT_KINDS, ...servedKinds(this.#discovery.integrations)],
      queue: (name) => this.#queue.add(name),
      queueAll: () => this.#requeueAll(),
    });
    this.#controller = new TenantController(client, {
      recorder: this.#recorder,
      context: () => this.context,
      onStatus: (name, status, namespace) => {
        metrics.tenantStatus(name, status);
        this.#index.noteStatus(name, status, namespace);
      },
      onNamespace: (name, namespace) => this.#index.claimNamespace(name, namespace),
      hostClaims: (tenant, context) =>
        hostClaimsMatter(context.integrations)
          ? this.#index.hostClaims(tenant, tenantHosts(tenant, context.gatewayHosts) ?? [])
          : [],
      ownWrites: this.#ownWrites,
    });
  }

  /** The plan context reconciles use now: current catalogue, served integrations, settings. */
  get context(): PlanContext {
    const ingressNamespace = this.#options.ingressNamespace ?? DEFAULT_INGRESS_NAMESPACE;
    const meshEgressNamespaces = this.#options.meshEgressNamespaces ?? [];
    return {
      catalogue: this.#discovery.catalogue,
      integrations: this.#discovery.integrations,
      ingressNamespace,
      gatewayHosts: this.#options.gatewayHosts ?? DEFAULT_GATEWAY_HOSTS,
      meshEgressNamespaces,
      // Every namespace all tenants' Sidecars import is reserved: no tenant's services may be
      // announced to every other tenant.
      reservedNamespaces: this.#reserved ??= [
        ...new Set([
          ...ALWAYS_RESERVED_NAMESPACES,
          ingressNamespace,
          ISTIO_SYSTEM_NAMESPACE,
          ...meshEgressNamespaces,
          ...this.#options.reservedNamespaces ?? DEFAULT_RESERVED_NAMESPACES,
        ]),
      ],
    };
  }

  /** The audit passes finished so far, the start-up one included (for logs and tests). */
  get audits(): AuditRecord {
    return this.#audits.record;
  }

  /** The work queue (for metrics and tests). */
  get queue(): WorkQueue<Tenant> {
    return this.#queue;
  }

  get #requestTimeoutMs(): number {
    return this.#options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /**
   * Ready while every watch can deliver: the Tenant and Namespace watches have started, and each
   * running watch is synced (not listing or relisting, e.g. after a skipped event), has had a
   * connection within the inactivity timeout, and bytes within twice that.
   */
  readiness(now: number = Date.now()): Readiness {
    return this.#group.readiness(
      [TENANTS_WATCH, NAMESPACES_WATCH],
      this.#options.watchTimings?.inactivityTimeoutMs ?? DEFAULT_WATCH_INACTIVITY_MS,
      now,
    );
  }

  /**
   * Alive unless a worker is stuck: a reconcile has run for {@linkcode STUCK_WORKER_FACTOR}
   * request timeouts, one past the reconcile deadline that should have aborted it.
   */
  liveness(now: number = performance.now()): Readiness {
    const bound = STUCK_WORKER_FACTOR * this.#requestTimeoutMs;
    const oldest = this.#queue.oldestRunning(now);
    if (oldest && oldest.ageMs > bound) {
      return {
        ready: false,
        detail: `reconcile of tenant ${oldest.key} running for ${
          Math.round(oldest.ageMs / 1000)
        } s (a stuck worker: the bound is ${bound / 1000} s)`,
      };
    }
    return { ready: true, detail: "alive" };
  }

  /**
   * Runs until `signal` aborts, then finishes in-flight reconciles and returns `"stopped"`.
   * With an `election`, the watches run (and readiness reflects them) on every replica, but
   * reconciles only while this replica holds the Lease; returns `"lost"` when leadership is
   * lost, after aborting in-flight reconciles.
   */
  async run(signal: AbortSignal, options: ManagerRunOptions = {}): Promise<"stopped" | "lost"> {
    const watches = new AbortController();
    // Everything of start-up (discovery, each watch's initial state) ends at once on `signal`.
    const stopping = AbortSignal.any([signal, watches.signal]);
    await this.#discovery.discover(stopping);
    // What the first discovery found is what the start-up audit compares with.
    this.#auditAfterStart = false;
    const resync = setInterval(() => this.#resync(stopping), this.#options.resyncPeriodMs);
    // Without leader election this replica reconciles from the start: the tenants the start-up
    // audit queues carry the Tenant as watched.
    this.#carry = options.election === undefined;
    const startup = new Audit({
      index: this.#index,
      context: () => this.context,
      queue: (name, tenant) => this.#queue.add(name, this.#carry ? tenant : undefined),
      audited: (tenant) => this.#metrics.tenantStatus(tenant.metadata?.name ?? "", tenant.status),
    });
    this.#sources.startAudit(startup);
    const discovery = setInterval(
      () => this.#discovery.discover(stopping),
      this.#options.discoveryIntervalMs ?? DEFAULT_DISCOVERY_INTERVAL_MS,
    );
    const loops = [this.#sources.tenants(stopping)];
    if (this.#source.kind === "configMap") {
      loops.push(followCatalogue(this.#client, {
        source: this.#source,
        group: this.#group,
        recorder: this.#recorder,
        discovery: this.#discovery,
        audit: () => this.#auditEveryTenant(),
        timings: this.#options.watchTimings,
        signal: stopping,
      }));
    }
    const starting = this.#group.startInTurn(TENANTS_WATCH, [
      [NAMESPACES_WATCH, () => this.#sources.namespaces(stopping)],
      ...BUILTIN_OBJECT_KINDS.map((resource): WatchStart => [
        observationKey(resource),
        () => this.#sources.objects(resource, stopping),
      ]),
      ...servedKinds(this.#discovery.integrations).map((resource): WatchStart => [
        observationKey(resource),
        () => this.#stillServed(resource) ? this.#sources.kind(resource, stopping) : undefined,
      ]),
    ], { loops, signal: stopping }).then(() => {
      this.#sources.endAudit();
      const summary = startup.close();
      this.#audits.finished(summary);
      const { tenants, queued } = summary;
      log("manager").info("start-up audit: {queued} of {tenants} tenants need a reconcile", {
        tenants,
        queued,
      });
      this.#started = stopping;
      this.#sources.syncKinds(servedKinds(this.#discovery.integrations), stopping);
      if (this.#auditAfterStart) this.#audits.request(stopping);
    });
    log("manager").info(
      "tenant controller started with {concurrency} workers, {plans} plans from {source}",
      {
        concurrency: this.#options.concurrency,
        plans: this.#discovery.catalogue.plans.size,
        source: describeSource(this.#source),
      },
    );
    // Workers start at once: the start-up audit queues each tenant it can judge from the Tenant
    // alone (a new one, a changed spec) as the Tenant watch's initial state streams in, and the
    // other watches' initial states are compared while the workers run (a tenant they show to
    // differ is queued then). Only host claims need every Tenant known, since an older Tenant may
    // claim a host first: while they matter, a reconcile waits for the Tenant watch's initial
    // state.
    const work = async (leading: AbortSignal) => {
      this.#carry = true;
      let tenantsKnown = false;
      this.#group.synced(TENANTS_WATCH, { signal: leading })
        .then(() => tenantsKnown = !leading.aborted);
      try {
        await this.#queue.run(
          async (name, workerSignal, tenant) => {
            if (!tenantsKnown && hostClaimsMatter(this.#discovery.integrations)) {
              // Until the reconcile deadline, which retries the tenant with backoff.
              await this.#group.synced(TENANTS_WATCH, { signal: workerSignal });
              workerSignal.throwIfAborted();
            }
            // After a reconcile that did not end well (a stale view, a failed write, an error)
            // the next one reads everything afresh, whatever the queue carried.
            return await this.#controller.reconcile(
              name,
              workerSignal,
              this.#queue.failures(name) > 0 ? undefined : tenant,
            );
          },
          leading,
        );
      } finally {
        // Events still being written get what is left of the shutdown budget, while the Lease
        // is still held.
        await this.#recorder.flush(EVENT_FLUSH_MS);
      }
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
      await starting;
      await Promise.allSettled([
        ...loops,
        this.#discovery.settled(),
        this.#sources.stopKinds(),
        this.#audits.settled(),
      ]);
      log("manager").info("tenant controller stopped");
    }
  }

  /** Whether `resource` is still served at the version start-up saw. */
  #stillServed(resource: ResourceDescriptor): boolean {
    const key = JSON.stringify(resource);
    return servedKinds(this.#discovery.integrations).some((kind) => JSON.stringify(kind) === key);
  }

  /**
   * New integrations: watch exactly their kinds (once start-up got there) and audit every
   * tenant against them (after start-up: its own audit runs with them).
   */
  #integrationsChanged(integrations: Integrations): void {
    this.#sources.syncKinds(servedKinds(integrations), this.#started);
    this.#auditEveryTenant();
  }

  /**
   * A watch of managed objects relisted: what it missed meanwhile may be invisible to it (an object
   * that left its selection before it was ever seen), so every tenant is compared with fresh lists.
   */
  #relisted(watch: string): void {
    log("manager").info("watch {watch} relisted: auditing every tenant against fresh lists", {
      watch,
    });
    this.#auditEveryTenant();
  }

  /**
   * An audit pass over listed pages (a catalogue, integration or relist change): now once
   * start-up is done, else right after it.
   */
  #auditEveryTenant(): void {
    if (this.#started === undefined) this.#auditAfterStart = true;
    else if (!this.#started.aborted) this.#audits.request(this.#started);
  }

  #requeueAll(): void {
    for (const name of this.#index.names()) this.#queue.add(name);
  }

  /**
   * The safety net: discovery, then an audit of every tenant over freshly listed pages (started
   * by the change itself when discovery finds one).
   */
  #resync(signal: AbortSignal): void {
    log("manager").debug("resync of {count} tenants", { count: this.#index.size });
    this.#discovery.discover(signal).then((changed) => {
      if (!changed) this.#audits.request(signal);
    });
  }
}
