// Fault injection: failing the next matching requests, latency, dropped or stalled watches, compaction.
import { ApiError } from "./status.ts";
import type { Verb } from "../types.ts";

/** Fail the next `count` requests matching verb/resource/namespace with `status`. */
export interface FaultRule {
  status: number;
  count?: number;
  verb?: Verb;
  /** Plural ("tenants") or "plural/subresource" ("tenants/status"). */
  resource?: string;
  namespace?: string;
  /** With 429/503: `Retry-After` header and `details.retryAfterSeconds`. */
  retryAfterSeconds?: number;
  message?: string;
}

/** The fault-injection handle of a dev API server. */
export interface Faults {
  /** Queues a rule; rules apply in the order given. */
  failNext(rule: FaultRule): void;
  /** Delays matching requests by `ms` (0 clears). */
  setLatency(ms: number, match?: { verb?: Verb; resource?: string }): void;
  /** Abruptly ends every open watch response; returns how many. */
  dropWatches(): number;
  /** Open watches stay connected but receive nothing while stalled. */
  stallWatches(stalled: boolean): void;
  /** Forgets watch history: resuming from any earlier version gets 410. */
  compact(): void;
  /** Removes all rules, latency and stall. */
  clear(): void;
}

const REASONS: Record<number, [string, string]> = {
  400: ["BadRequest", "injected bad request"],
  401: ["Unauthorized", "Unauthorized"],
  403: ["Forbidden", "injected forbidden"],
  404: ["NotFound", "the server could not find the requested resource"],
  409: ["Conflict", "injected conflict"],
  410: ["Gone", "injected gone"],
  422: ["Invalid", "injected invalid"],
  429: [
    "TooManyRequests",
    "the server has received too many requests and has asked us to try again later",
  ],
  500: [
    "InternalError",
    'an error on the server ("injected fault") has prevented the request from succeeding',
  ],
  503: ["ServiceUnavailable", "the server is currently unable to handle the request"],
  504: ["Timeout", "the server was unable to return a response in the time allotted"],
};

/** What a request looks like to the fault rules. */
export interface FaultTarget {
  verb: string;
  resource: string;
  namespace?: string;
}

/** Fault rules and latency; the watch-level faults are delegated to the server's hooks. */
export class FaultInjector implements Faults {
  #rules: (FaultRule & { remaining: number })[] = [];
  #latency: { ms: number; verb?: Verb; resource?: string } = { ms: 0 };
  #hooks: { drop(): number; stall(stalled: boolean): void; compact(): void };

  /** Creates an injector using the server's watch hooks. */
  constructor(hooks: { drop(): number; stall(stalled: boolean): void; compact(): void }) {
    this.#hooks = hooks;
  }

  /** Queues a rule; rules apply in the order given. */
  failNext(rule: FaultRule): void {
    if (!Number.isInteger(rule.status) || rule.status < 100 || rule.status > 599) {
      throw new RangeError(`fault status must be an HTTP status code, got ${rule.status}`);
    }
    this.#rules.push({ ...rule, remaining: rule.count ?? 1 });
  }

  /** Delays matching requests by `ms` (0 clears). */
  setLatency(ms: number, match: { verb?: Verb; resource?: string } = {}): void {
    this.#latency = { ms: Math.max(0, ms), ...match };
  }

  /** Abruptly ends every open watch response; returns how many. */
  dropWatches(): number {
    return this.#hooks.drop();
  }

  /** Open watches stay connected but receive nothing while stalled. */
  stallWatches(stalled: boolean): void {
    this.#hooks.stall(stalled);
  }

  /** Forgets watch history: resuming from any earlier version gets 410. */
  compact(): void {
    this.#hooks.compact();
  }

  /** Removes all rules, latency and stall. */
  clear(): void {
    this.#rules = [];
    this.#latency = { ms: 0 };
    this.#hooks.stall(false);
  }

  /** The latency to add to a request. */
  latencyFor(target: FaultTarget): number {
    const l = this.#latency;
    if (l.ms === 0) return 0;
    if (l.verb !== undefined && l.verb !== target.verb) return 0;
    if (l.resource !== undefined && l.resource !== target.resource) return 0;
    return l.ms;
  }

  /** The error to answer a request with, consuming one use of the first matching rule. */
  take(target: FaultTarget): ApiError | undefined {
    const index = this.#rules.findIndex((r) =>
      (r.verb === undefined || r.verb === target.verb) &&
      (r.resource === undefined || r.resource === target.resource) &&
      (r.namespace === undefined || r.namespace === target.namespace)
    );
    if (index < 0) return undefined;
    const rule = this.#rules[index];
    if (--rule.remaining <= 0) this.#rules.splice(index, 1);
    const [reason, message] = REASONS[rule.status] ??
      ["InternalError", `injected fault (${rule.status})`];
    const details = rule.retryAfterSeconds !== undefined
      ? { retryAfterSeconds: rule.retryAfterSeconds }
      : {};
    return new ApiError(rule.status, reason, rule.message ?? message, details);
  }
}
