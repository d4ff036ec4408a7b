// The audit passes over listed pages (ARCHITECTURE.md §2): at each resync, after a catalogue or
// integration change. One runs at a time; asked again while one runs, one more follows it. Each
// lists the Tenants, the managed namespaces and every watched per-tenant kind, one paged LIST each
// (500 objects a page, looked at as they arrive), and queues the tenants that differ from their
// plan; one that cannot list queues every tenant instead.
import {
  type KubeClient,
  type KubeObjectBase,
  namespaces,
  type ResourceDescriptor,
  type Tenant,
  TENANT_RESOURCE,
} from "../client/mod.ts";
import type { PlanContext } from "../reconcile/mod.ts";
import { log } from "../log.ts";
import { Audit, type AuditSummary } from "./audit.ts";
import { MANAGED_SELECTOR } from "./sources.ts";
import type { TenantIndex } from "./tenant_index.ts";

/** The audit passes finished (see {@linkcode Audits.record}). */
export interface AuditRecord {
  /** Passes finished: the start-up one, then one per resync, catalogue or integration change. */
  count: number;
  /** What the latest one found. */
  last?: AuditSummary;
}

/** What {@linkcode Audits} needs. */
export interface AuditsOptions {
  /** Tenant names, namespaces and hosts. */
  index: TenantIndex;
  /** The plan context in force. */
  context: () => PlanContext;
  /** The per-tenant kinds watched now (built-in and served integration kinds). */
  kinds: () => readonly ResourceDescriptor[];
  /** Queues a tenant for a reconcile. */
  queue: (name: string) => void;
  /** Queues every known tenant (a pass that cannot list). */
  queueAll: () => void;
}

/** Runs audit passes over listed pages and keeps the record of every pass. */
export class Audits {
  readonly #client: KubeClient;
  readonly #options: AuditsOptions;
  #running?: Promise<void>;
  #again = false;
  #record: AuditRecord = { count: 0 };

  /** Creates the runner; nothing runs until {@linkcode request}. */
  constructor(client: KubeClient, options: AuditsOptions) {
    this.#client = client;
    this.#options = options;
  }

  /** The passes finished so far (the start-up one included, see {@linkcode finished}). */
  get record(): AuditRecord {
    return this.#record;
  }

  /** Notes a pass that finished, with what it found. */
  finished(summary: AuditSummary): void {
    this.#record = { count: this.#record.count + 1, last: summary };
  }

  /** Starts a pass, or asks for one more after the pass running now; `signal` stops them. */
  request(signal: AbortSignal): void {
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        await this.#pass(signal);
      } while (this.#again && !signal.aborted);
    })().finally(() => this.#running = undefined);
  }

  /** Resolves when no pass runs (for shutdown). */
  async settled(): Promise<void> {
    await this.#running;
  }

  async #pass(signal: AbortSignal): Promise<void> {
    const { index, context, kinds, queue, queueAll } = this.#options;
    const started = performance.now();
    const audit = new Audit({ index, context, queue: (name) => queue(name) });
    try {
      const tenants = this.#client.resource<Tenant>(TENANT_RESOURCE).listPages({ signal });
      for await (const page of tenants) for (const item of page.items) audit.tenant(item);
      audit.tenantsDone();
      for (const resource of [namespaces, ...kinds()]) {
        const pages = this.#client.resource<KubeObjectBase>(resource).listPages({
          signal,
          labelSelector: MANAGED_SELECTOR,
          metadataOnly: resource === namespaces,
        });
        for await (const page of pages) {
          for (const item of page.items) audit.object(resource, item);
        }
        audit.kindDone(resource);
      }
    } catch (error) {
      if (signal.aborted) return;
      log("manager").warn("audit failed: {error}; reconciling every tenant instead", {
        error: error instanceof Error ? error.message : String(error),
      });
      queueAll();
    } finally {
      const summary = audit.close();
      this.finished(summary);
      log("manager").debug("audit: {queued} of {tenants} tenants need a reconcile ({ms} ms)", {
        ...summary,
        ms: Math.round(performance.now() - started),
      });
    }
  }
}
