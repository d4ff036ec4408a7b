// Records Kubernetes Events on Tenants, aggregated the way kubectl describe
// expects: the same event again bumps `count` and `lastTimestamp` on one
// object (deterministically named) instead of piling up new ones.
import type { Event, ObjectReference } from "kubernetes-types/core/v1.d.ts";
import { isAlreadyExists } from "../client/mod.ts";
import { formatTime } from "../api/mod.ts";
import { fnv1a64 } from "../hash.ts";
import { log } from "../log.ts";

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
  create(event: Event, options: { namespace: string }): Promise<Event>;
  /** Reads an Event by name. */
  get(name: string, options: { namespace: string }): Promise<Event>;
  /** Applies a JSON merge patch to an Event. */
  patch(
    name: string,
    patch: unknown,
    options: { namespace: string; type: "merge" },
  ): Promise<Event>;
}

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
}

/**
 * Writes aggregated core/v1 Events. Failures are logged, never thrown: an
 * event that cannot be written must not fail a reconcile.
 */
export class EventRecorder {
  readonly #api: EventApi;
  readonly #options: EventRecorderOptions;

  /** Creates a recorder over an Events API. */
  constructor(api: EventApi, options: EventRecorderOptions) {
    this.#api = api;
    this.#options = options;
  }

  /** The deterministic name of the Event object for (subject, event). */
  static eventName(subject: EventSubject, event: EventRecord): string {
    const name = subject.metadata?.name ?? "unknown";
    const hash = fnv1a64(
      [subject.metadata?.uid ?? "", event.type, event.reason, event.message].join("\n"),
    );
    return `${name.slice(0, 253 - 17)}.${hash}`;
  }

  /** Records `event` about `subject`, bumping the count of an identical one. */
  async record(subject: EventSubject, event: EventRecord): Promise<void> {
    const namespace = subject.metadata?.namespace ||
      (this.#options.clusterScopedNamespace ?? "default");
    const name = EventRecorder.eventName(subject, event);
    const now = formatTime(this.#options.now?.() ?? new Date());
    const involvedObject: ObjectReference = {
      apiVersion: subject.apiVersion,
      kind: subject.kind,
      name: subject.metadata?.name,
      namespace: subject.metadata?.namespace,
      uid: subject.metadata?.uid,
      resourceVersion: subject.metadata?.resourceVersion,
    };
    try {
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
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        }, { namespace });
      } catch (error) {
        if (!isAlreadyExists(error)) throw error;
        const existing = await this.#api.get(name, { namespace });
        await this.#api.patch(name, {
          count: (existing.count ?? 1) + 1,
          lastTimestamp: now,
          involvedObject: { resourceVersion: involvedObject.resourceVersion },
        }, { namespace, type: "merge" });
      }
    } catch (error) {
      log("events").warn("could not record event {reason} on {name}: {error}", {
        reason: event.reason,
        name: subject.metadata?.name,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
