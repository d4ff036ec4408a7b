// Jittered exponential backoff and an abortable sleep, shared by request retries and resumable watches.

/** Settings of a {@linkcode Backoff}. */
export interface BackoffOptions {
  /** First delay in ms. */
  initialMs: number;
  /** Largest delay in ms (jitter included). */
  maxMs: number;
  /** Growth per step (default 2). */
  factor?: number;
  /** Random extra fraction added to each delay, 0..1 (default 1: up to double, like client-go). */
  jitter?: number;
  /** After this long without a failure, the next delay starts from `initialMs` again (default never). */
  resetAfterMs?: number;
}

/** Exponential backoff with jitter and a reset after a healthy period. */
export class Backoff {
  #options: Required<BackoffOptions>;
  #current = 0;
  #lastFailureAt = 0;

  /** Creates a backoff starting at `initialMs`. */
  constructor(options: BackoffOptions) {
    this.#options = { factor: 2, jitter: 1, resetAfterMs: Infinity, ...options };
  }

  /** The delay before the next attempt, growing with each call. */
  next(now: number = Date.now()): number {
    const { initialMs, maxMs, factor, jitter, resetAfterMs } = this.#options;
    if (this.#current === 0 || now - this.#lastFailureAt > resetAfterMs) this.#current = initialMs;
    else this.#current = Math.min(this.#current * factor, maxMs);
    this.#lastFailureAt = now;
    return Math.min(this.#current * (1 + Math.random() * jitter), maxMs);
  }

  /** Starts over from `initialMs`. */
  reset(): void {
    this.#current = 0;
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
