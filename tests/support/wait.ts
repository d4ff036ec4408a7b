// Waiting in tests and benchmarks: poll until a condition holds, bound a wait, or sleep
// (the project's abortable sleep from lib/backoff.ts, re-exported).
import { sleep } from "../../lib/backoff.ts";

export { sleep };

/** Options of {@linkcode eventually}. */
export interface EventuallyOptions {
  /** Give up after this long, in ms (default 10 s). */
  timeoutMs?: number;
  /** Pause between checks, in ms (default 20 ms). */
  intervalMs?: number;
}

/**
 * Polls `check` until it returns a value other than undefined/false and resolves to that value;
 * fails naming `what` (and the last error `check` threw) after the timeout. A number for
 * `options` is the timeout in ms.
 */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: EventuallyOptions | number = {},
): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 20 } = typeof options === "number"
    ? { timeoutMs: options }
    : options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${lastError ? `: ${lastError}` : ""}`);
    }
    await sleep(intervalMs);
  }
}

/** Resolves like `promise`, or fails naming `what` when it has not settled after `timeoutMs`. */
export async function within<T>(promise: Promise<T>, what: string, timeoutMs = 5_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
