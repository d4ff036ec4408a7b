// Records Kubernetes Events on Tenants off the reconcile's critical path: `record` only queues, a
// few writers send (a Normal Event a moment after it happened, with the others of that moment;
// while reconciles wait and the buffer is under half full, only Warnings, one at a time: the API
// server serves the reconciles first, and Normal Events wait), a write that
// meets a 429, a 5xx or a broken connection is retried with backoff (12 tries, as client-go), the
// buffer is bounded (a reference and the text of each Event, never
// the object; a Warning displaces a Normal Event) and every Event given up is counted. Events are
// aggregated the way kubectl describe expects: the same event again bumps `count` and
// `lastTimestamp` on one object (deterministically named) instead of piling up new ones.
import type { Event, ObjectReference } from "kubernetes-types/core/v1.d.ts";
import {
  ConnectionError,
  isAlreadyExists,
  ServerError,
  TooManyRequestsError,
} from "../client/mod.ts";
import { formatTime } from "../api/mod.ts";
import { backoffDelay, type BackoffPolicy, sleep } from "../backoff.ts";
import { fnv1a64 } from "../hash.ts";
import { log } from "../log.ts";
import { Counter, Registry } from "../metrics/mod.ts";

/** While reconciles wait, how often held-back Normal Events are looked at again, in ms. */
const RECHECK_MS = 1000;

/** How long a Normal Event waits before it is written, by default, in ms. */
const NORMAL_DELAY_MS = 50;

/** Normal for progress, Warning for conflicts and errors. */
export type EventType = "Normal" | "Warning";

/** One event to record. */
export interface EventRecord {
  /** Normal or Warning. */
  type: EventType;
  /** UpperCamelCase machine-readable reason, e.g. `NamespaceCreated`. */
  reason: string;
  /** Human-readable message. */
  message: string;
}

/** The object an event is about (a Tenant, or anything with metadata). */
export interface EventSubject {
  /** API version of the subject, e.g. `kleff.kleff.io/v1`. */
  apiVersion?: string;
  /** Kind of the subject, e.g. `Tenant`. */
  kind?: string;
  /** Metadata of the subject (name and uid are used). */
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

/** The three calls the recorder needs from the Events API. */
export interface EventApi {
  /** Creates an Event in `namespace`. */
  create(event: Event, options: { namespace: string; signal?: AbortSignal }): Promise<Event>;
  /** Reads an Event by name. */
  get(name: string, options: { namespace: string; signal?: AbortSignal }): Promise<Event>;
  /** Applies a JSON merge patch to an Event. */
  patch(
    name: string,
    patch: unknown,
    options: { namespace: string; type: "merge"; signal?: AbortSignal },
  ): Promise<Event>;
}

/**
 * Why an Event was given up (`kleff_events_dropped_total{reason}`): `buffer-full` (more Events
 * waiting than the buffer holds), `retries-exhausted` (still failing after every try),
 * `rejected` (an answer that retrying cannot change, e.g. 403 or 422), `shutdown` (still
 * unwritten when the flush at shutdown ran out of time).
 */
export type EventDropReason = "buffer-full" | "retries-exhausted" | "rejected" | "shutdown";

/** Options of {@linkcode EventRecorder}. */
export interface EventRecorderOptions {
  /** `source.component` / `reportingComponent`, e.g. `kleff-tenant-operator`. */
  component: string;
  /** `reportingInstance` (the pod or host name). */
  instance: string;
  /** Where events of cluster-scoped subjects go (default `default`, as kube does). */
  clusterScopedNamespace?: string;
  /** Clock, for tests. */
  now?: () => Date;
  /** Registry receiving `kleff_events_dropped_total{reason}`. */
  metrics?: Registry;
  /**
   * Most Events waiting or being written (default 10,000: four per tenant of a burst of 2,500
   * new tenants, a few MiB); beyond, a new Normal Event is dropped, and a Warning takes the place
   * of the oldest waiting Normal one.
   */
  maxPending?: number;
  /** Tries per Event (default 12, as client-go). */
  maxTries?: number;
  /** Delay between tries (default 500 ms doubling to 10 s; a 429's `Retry-After` wins). */
  backoff?: BackoffPolicy;
  /** Writes at the same time (default 4). */
  concurrency?: number;
  /**
   * Whether reconciles are waiting: only Warnings are then written, one at a time (as client-go
   * writes every Event), and Normal Events wait until no reconcile does or half the buffer is in
   * use, so that the API server serves the writes tenants wait for first.
   */
  busy?: () => boolean;
  /**
   * How long a Normal Event waits before it is written (default 50 ms; Warnings never wait), with
   * every other one recorded meanwhile: the status write a reconcile ends with, and its watch
   * events to everyone waiting for the tenant, go before the progress reports about it, and a
   * burst of them leaves together.
   */
  normalDelayMs?: number;
}

/** One Event waiting to be written: its object's name, and how many repeats it stands for. */
interface Pending {
  name: string;
  namespace: string;
  /** The subject's reference (its latest resourceVersion), not the subject. */
  subject: ObjectReference;
  event: EventRecord;
  /** Occurrences not yet written (a repeat while waiting only bumps this). */
  count: number;
  /** When the first of them happened. */
  first: string;
  /** When the last of them happened. */
  last: string;
}

/**
 * Writes aggregated core/v1 Events in the background. Nothing is thrown to the caller: an Event
 * that cannot be written must not fail or slow down a reconcile.
 */
export class EventRecorder {
  readonly #api: EventApi;
  readonly #options: EventRecorderOptions;
  readonly #dropped: Counter;
  /** Events not yet written, by Event object name (a repeat aggregates into its entry). */
  readonly #pending = new Map<string, Pending>();
  /** Names of Warnings ready to be written, in order. */
  #warnings: string[] = [];
  /** Names of Normal Events ready to be written, in order. */
  #normals: string[] = [];
  #writers = 0;
  /** Looks again at Normal Events held back while reconciles wait. */
  #recheck?: ReturnType<typeof setTimeout>;
  /** Ends the delay of the Normal Events recorded since the first of them (`normalDelayMs`). */
  #delay?: ReturnType<typeof setTimeout>;
  #closed = false;
  readonly #stop = new AbortController();
  #idle: (() => void)[] = [];

  /** Creates a recorder over an Events API. */
  constructor(api: EventApi, options: EventRecorderOptions) {
    this.#api = api;
    this.#options = options;
    this.#dropped = (options.metrics ?? new Registry()).register(
      new Counter("kleff_events_dropped_total", "Events given up without being written, by reason"),
    );
  }

  /** The deterministic name of the Event object for (subject, event). */
  static eventName(subject: EventSubject, event: EventRecord): string {
    const name = subject.metadata?.name ?? "unknown";
    const hash = fnv1a64(
      [subject.metadata?.uid ?? "", event.type, event.reason, event.message].join("\n"),
    );
    return `${name.slice(0, 253 - 17)}.${hash}`;
  }

  /** Events waiting or being written. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Queues `event` about `subject` (bumping the count of an identical one); returns at once. */
  record(subject: EventSubject, event: EventRecord): void {
    const namespace = subject.metadata?.namespace ||
      (this.#options.clusterScopedNamespace ?? "default");
    const name = EventRecorder.eventName(subject, event);
    const now = formatTime(this.#options.now?.() ?? new Date());
    const about = subject.metadata?.name;
    if (this.#closed) return this.#drop("shutdown", { about, event });
    const waiting = this.#pending.get(name);
    if (waiting) {
      waiting.count++;
      waiting.last = now;
      waiting.subject.resourceVersion = subject.metadata?.resourceVersion;
      return;
    }
    if (this.#pending.size >= this.#maxPending && !this.#makeRoomFor(event)) {
      return this.#drop("buffer-full", { about, event });
    }
    this.#pending.set(name, {
      name,
      namespace,
      subject: reference(subject),
      event,
      count: 1,
      first: now,
      last: now,
    });
    this.#readyQueue(event).push(name);
    const delayMs = this.#options.normalDelayMs ?? NORMAL_DELAY_MS;
    if (event.type === "Normal" && delayMs > 0 && this.#delay === undefined) {
      this.#delay = setTimeout(() => {
        this.#delay = undefined;
        this.#pump();
      }, delayMs);
    }
    this.#pump();
  }

  /** Where an Event waits to be written. */
  #readyQueue(event: EventRecord): string[] {
    return event.type === "Warning" ? this.#warnings : this.#normals;
  }

  /**
   * Stops taking Events and waits up to `timeoutMs` for those still waiting to be written; the
   * rest are aborted and counted as dropped (`shutdown`).
   */
  async flush(timeoutMs: number): Promise<void> {
    this.#closed = true;
    // Normal Events held back for reconciles or their delay go now.
    clearTimeout(this.#delay);
    this.#delay = undefined;
    this.#pump();
    if (this.#pending.size > 0) {
      const idle = new Promise<void>((resolve) => this.#idle.push(resolve));
      await Promise.race([idle, sleep(timeoutMs)]);
    }
    this.#stop.abort(new Error("event recorder stopped"));
    for (const { subject, event } of this.#pending.values()) {
      this.#drop("shutdown", { about: subject.name, event });
    }
    this.#pending.clear();
    this.#warnings = [];
    this.#normals = [];
    clearTimeout(this.#recheck);
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  get #maxPending(): number {
    return this.#options.maxPending ?? 10_000;
  }

  /**
   * With the buffer full, a Warning takes the place of the oldest Normal Event not being written
   * (dropped and counted): progress can be lost in a flood, a failure cannot. Whether room was
   * made.
   */
  #makeRoomFor(event: EventRecord): boolean {
    if (event.type !== "Warning") return false;
    const name = this.#normals.shift();
    if (name === undefined) return false;
    const evicted = this.#pending.get(name)!;
    this.#pending.delete(name);
    this.#drop("buffer-full", { about: evicted.subject.name, event: evicted.event });
    return true;
  }

  /**
   * Starts writers up to the concurrency: while reconciles wait (unless the buffer is half full:
   * then Events would be lost before the burst ends), one, for Warnings only, and the Normal
   * Events are looked at again at the next Event or within a second; all of them otherwise, but
   * Normal Events not while their delay runs.
   */
  #pump(): void {
    const yielding = !this.#closed && this.#options.busy?.() &&
      2 * this.#pending.size < this.#maxPending;
    const concurrency = yielding ? 1 : this.#options.concurrency ?? 4;
    const holdNormals = yielding || this.#delay !== undefined;
    while (this.#writers < concurrency) {
      const name = this.#warnings.shift() ?? (holdNormals ? undefined : this.#normals.shift());
      if (name === undefined) break;
      this.#writers++;
      this.#write(name).finally(() => {
        this.#writers--;
        this.#pump();
        if (this.#pending.size === 0) { for (const resolve of this.#idle.splice(0)) resolve(); }
      });
    }
    if (yielding && this.#normals.length > 0 && this.#recheck === undefined) {
      this.#recheck = setTimeout(() => {
        this.#recheck = undefined;
        this.#pump();
      }, RECHECK_MS);
    }
  }

  /** Writes one pending Event, retrying; it leaves the buffer once written or given up. */
  async #write(name: string): Promise<void> {
    const maxTries = this.#options.maxTries ?? 12;
    const policy = this.#options.backoff ?? { initialMs: 500, maxMs: 10_000 };
    for (let attempt = 0;; attempt++) {
      const pending = this.#pending.get(name);
      if (!pending || this.#stop.signal.aborted) return;
      const count = pending.count;
      try {
        await this.#send(pending);
        // Repeats that arrived while writing stay pending with the rest of the count.
        pending.count -= count;
        if (pending.count === 0) this.#pending.delete(name);
        else this.#readyQueue(pending.event).push(name);
        return;
      } catch (error) {
        if (this.#stop.signal.aborted) return;
        const retryable = error instanceof ConnectionError || error instanceof ServerError ||
          error instanceof TooManyRequestsError;
        if (!retryable || attempt + 1 >= maxTries) {
          this.#pending.delete(name);
          this.#drop(retryable ? "retries-exhausted" : "rejected", {
            about: pending.subject.name,
            event: pending.event,
            error,
          });
          return;
        }
        let delay = backoffDelay(policy, attempt);
        if (error instanceof TooManyRequestsError && error.retryAfterSeconds) {
          delay = Math.max(delay, error.retryAfterSeconds * 1000);
        }
        try {
          await sleep(delay, this.#stop.signal);
        } catch {
          return;
        }
      }
    }
  }

  /** Creates the Event, or bumps the count of the one already there by `pending.count`. */
  async #send(pending: Pending): Promise<void> {
    const { name, namespace, subject: involvedObject, event } = pending;
    const signal = this.#stop.signal;
    try {
      await this.#api.create({
        apiVersion: "v1",
        kind: "Event",
        metadata: { name, namespace },
        involvedObject,
        type: event.type,
        reason: event.reason,
        message: event.message,
        source: { component: this.#options.component },
        reportingComponent: this.#options.component,
        reportingInstance: this.#options.instance,
        firstTimestamp: pending.first,
        lastTimestamp: pending.last,
        count: pending.count,
      }, { namespace, signal });
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      const existing = await this.#api.get(name, { namespace, signal });
      await this.#api.patch(name, {
        count: (existing.count ?? 1) + pending.count,
        lastTimestamp: pending.last,
        involvedObject: { resourceVersion: involvedObject.resourceVersion },
      }, { namespace, type: "merge", signal });
    }
  }

  /** Counts and logs an Event given up (`about`: its subject's name). */
  #drop(
    reason: EventDropReason,
    { about, event, error }: { about?: string; event: EventRecord; error?: unknown },
  ): void {
    this.#dropped.inc({ reason });
    log("events").warn("dropped event {reason} on {name} ({why}){error}", {
      reason: event.reason,
      name: about,
      why: reason,
      error: error === undefined ? "" : `: ${error instanceof Error ? error.message : error}`,
    });
  }
}

/** The `involvedObject` of an Event about `subject`: its reference only. */
function reference(subject: EventSubject): ObjectReference {
  return {
    apiVersion: subject.apiVersion,
    kind: subject.kind,
    name: subject.metadata?.name,
    namespace: subject.metadata?.namespace,
    uid: subject.metadata?.uid,
    resourceVersion: subject.metadata?.resourceVersion,
  };
}
