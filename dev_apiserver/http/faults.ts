// Fault injection: failing the next matching requests, latency, trickled answers, dropped, stalled
// or corrupted watches, compaction.
import { sleep } from "../../lib/backoff.ts";
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

/**
 * Corrupt the next `count` (default 1) watch events of `resource` (plural; any when absent) on
 * their way to every open watch: `oversize` pads the object with an annotation of `bytes`
 * (default 13 MiB: past a client's default line cap of 12 MiB), `undecodable` cuts the line in
 * half. Stored objects, lists and resumed watches are not affected, so a relist recovers.
 */
export interface WatchCorruption {
  kind: "oversize" | "undecodable";
  resource?: string;
  count?: number;
  bytes?: number;
}

/** Send matching answers (their bodies) at `bytesPerSecond`, in small chunks. */
export interface Trickle {
  bytesPerSecond: number;
  verb?: Verb;
  resource?: string;
}

/** The fault-injection handle of a dev API server. */
export interface Faults {
  /** Queues a rule; rules apply in the order given. */
  failNext(rule: FaultRule): void;
  /** Delays matching requests by `ms` (0 clears). */
  setLatency(ms: number, match?: { verb?: Verb; resource?: string }): void;
  /** How many requests the latency holds right now (sent, not yet handled). */
  readonly delayed: number;
  /** Abruptly ends every open watch response; returns how many. */
  dropWatches(): number;
  /** Open watches stay connected but receive nothing while stalled. */
  stallWatches(stalled: boolean): void;
  /** Forgets watch history: resuming from any earlier version gets 410. */
  compact(): void;
  /** Corrupts the next matching watch events in transit. */
  corruptWatchEvents(rule: WatchCorruption): void;
  /** Trickles matching answers (`undefined` clears). */
  setTrickle(trickle: Trickle | undefined): void;
  /** Removes all rules, latency, trickle, corruption and stall. */
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
  #trickle?: Trickle;
  #hooks: WatchHooks;
  #delayed = 0;

  /** Creates an injector using the server's watch hooks. */
  constructor(hooks: WatchHooks) {
    this.#hooks = hooks;
  }

  /** Corrupts the next matching watch events in transit. */
  corruptWatchEvents(rule: WatchCorruption): void {
    if (rule.kind !== "oversize" && rule.kind !== "undecodable") {
      throw new RangeError(`corruption kind must be oversize or undecodable, got ${rule.kind}`);
    }
    this.#hooks.corrupt(rule);
  }

  /** Trickles matching answers (`undefined` clears). */
  setTrickle(trickle: Trickle | undefined): void {
    if (trickle !== undefined && !(trickle.bytesPerSecond > 0)) {
      throw new RangeError(
        `trickle needs a positive bytesPerSecond, got ${trickle.bytesPerSecond}`,
      );
    }
    this.#trickle = trickle;
  }

  /** The answer to send for `target`: `response` itself, or its body trickled. */
  trickled(target: FaultTarget, response: Response): Response {
    const t = this.#trickle;
    if (!t || !response.body) return response;
    if (t.verb !== undefined && t.verb !== target.verb) return response;
    if (t.resource !== undefined && t.resource !== target.resource) return response;
    const headers = new Headers(response.headers);
    headers.delete("content-length");
    return new Response(trickle(response.body, t.bytesPerSecond), {
      status: response.status,
      headers,
    });
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
    this.#trickle = undefined;
    this.#hooks.corrupt(undefined);
    this.#hooks.stall(false);
  }

  /** How many requests the latency holds right now (sent, not yet handled). */
  get delayed(): number {
    return this.#delayed;
  }

  /** Holds a request for the latency matching `target`, or until `signal` aborts. */
  async delay(target: FaultTarget, signal: AbortSignal): Promise<void> {
    const ms = this.#latencyFor(target);
    if (ms === 0) return;
    this.#delayed++;
    try {
      await sleep(ms, signal).catch(() => {});
    } finally {
      this.#delayed--;
    }
  }

  /** The latency to add to a request. */
  #latencyFor(target: FaultTarget): number {
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

/** What the injector needs from the watch hub. */
export interface WatchHooks {
  drop(): number;
  stall(stalled: boolean): void;
  compact(): void;
  /** Queues a corruption rule (`undefined` clears them). */
  corrupt(rule: WatchCorruption | undefined): void;
}

/** Re-emits `body` in chunks of at most 64 bytes, at about `bytesPerSecond` (a slow server). */
export function trickle(
  body: ReadableStream<Uint8Array>,
  bytesPerSecond: number,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let rest: Uint8Array = new Uint8Array(0);
  const chunk = Math.max(1, Math.min(64, Math.floor(bytesPerSecond / 10)));
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (rest.length === 0) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        rest = value;
      }
      await new Promise((resolve) => setTimeout(resolve, (chunk / bytesPerSecond) * 1000));
      controller.enqueue(rest.slice(0, chunk));
      rest = rest.subarray(chunk);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
