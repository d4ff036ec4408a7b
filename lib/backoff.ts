// Jittered exponential backoff, the one retry-delay policy of the project: request
// retries and resumable watches in the client, per-tenant retries in the work queue,
// and restarts of the operator's own loops. Plus an abortable sleep.

/** Parameters of an exponential backoff. */
export interface BackoffPolicy {
  /** Delay before the first retry, in ms. */
  initialMs: number;
  /** Upper bound on any delay (jitter included), in ms. */
  maxMs: number;
  /** Growth factor per attempt (default 2). */
  factor?: number;
  /** Random extra of up to `jitter` × delay (default 1.0, as client-go). */
  jitter?: number;
  /** For {@linkcode Backoff}: after this long without a failure, start over (default never). */
  resetAfterMs?: number;
}

/**
 * The delay before retry number `attempt` (0 = first retry): `initial ×
 * factor^attempt`, capped at `max`, plus up to `jitter` of itself at random.
 * The result never exceeds `maxMs`.
 */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const factor = policy.factor ?? 2;
  const jitter = policy.jitter ?? 1;
  const base = Math.min(policy.maxMs, policy.initialMs * factor ** Math.max(0, attempt));
  return Math.min(policy.maxMs, base + base * jitter * random());
}

/** A stateful backoff: each failure waits longer, a healthy period starts over. */
export class Backoff {
  readonly #policy: BackoffPolicy;
  #attempt = 0;
  #lastFailureAt = -Infinity;

  /** Creates a backoff starting at `initialMs`. */
  constructor(policy: BackoffPolicy) {
    this.#policy = policy;
  }

  /** The delay before the next attempt, growing with each call. */
  next(now: number = Date.now()): number {
    if (now - this.#lastFailureAt > (this.#policy.resetAfterMs ?? Infinity)) this.#attempt = 0;
    this.#lastFailureAt = now;
    return backoffDelay(this.#policy, this.#attempt++);
  }

  /** Starts over from `initialMs`. */
  reset(): void {
    this.#attempt = 0;
  }
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
