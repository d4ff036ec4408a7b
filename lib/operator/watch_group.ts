// The operator's watch loops as one group: each runs until stopped, restarting with backoff when
// something escapes the resumable watch; their health feeds readiness and the restart metric; and
// start-up takes them one after the other, each once the one before delivered its initial state.
import type { WatchHealth } from "../client/mod.ts";
import { Backoff, sleep } from "../backoff.ts";
import { log } from "../log.ts";
import type { Readiness } from "./endpoints.ts";
import type { TenantMetrics } from "./tenant_metrics.ts";

/** A watch loop running this long without failing restarts its backoff from the start. */
const LOOP_BACKOFF_RESET_MS = 120_000;

/** Longest wait for a watch's initial state before the next watch starts anyway. */
const START_IN_TURN_TIMEOUT_MS = 10_000;

/** Anything that reports a watch's health (a `ResumableWatch`). */
export interface HealthSource {
  /** The watch's health now. */
  health(): WatchHealth;
}

/** A watch to start in turn: its name, and what starts it (`undefined`: nothing started). */
export type WatchStart = [string, () => Promise<void> | undefined];

/** The running watch loops, by name, with their live health. */
export class WatchGroup {
  readonly #metrics: TenantMetrics;
  readonly #watches = new Map<string, HealthSource>();
  /** Called when the named watch first reports its initial state delivered. */
  readonly #syncWaiters = new Map<string, Set<() => void>>();

  /** Creates an empty group reporting restarts to `metrics`. */
  constructor(metrics: TenantMetrics) {
    this.#metrics = metrics;
  }

  /** The health of watch `name` now, if it ever started. */
  health(name: string): WatchHealth | undefined {
    return this.#watches.get(name)?.health();
  }

  /**
   * Whether every watch can deliver events: each of `required` has started, and every watch
   * is synced (not listing or relisting), has not been without a connection for longer than
   * `inactivityMs`, and has not been silent for twice that (servers send bookmarks about once a
   * minute, so a healthy watch is never that quiet).
   */
  readiness(
    required: readonly string[],
    inactivityMs: number,
    now: number = Date.now(),
  ): Readiness {
    for (const name of required) {
      if (!this.#watches.has(name)) return { ready: false, detail: `${name} watch not started` };
    }
    for (const [name, source] of this.#watches) {
      const health = source.health();
      if (!health.synced) {
        return {
          ready: false,
          detail: `${name} watch not synced${
            health.lastRestartReason ? ` (last restart: ${health.lastRestartReason})` : ""
          }`,
        };
      }
      const down = health.connected ? 0 : now - (health.disconnectedSince ?? now);
      if (down > inactivityMs) {
        return {
          ready: false,
          detail: `${name} watch without a connection for ${Math.round(down / 1000)} s${
            health.lastRestartReason ? ` (${health.lastRestartReason})` : ""
          }`,
        };
      }
      if (now - health.lastEventAt > 2 * inactivityMs) {
        return {
          ready: false,
          detail: `${name} watch silent for ${Math.round((now - health.lastEventAt) / 1000)} s`,
        };
      }
    }
    return { ready: true, detail: "watches synced" };
  }

  /** Registers the live watch behind loop `name` (a restarted loop registers its new watch). */
  register(name: string, watch: HealthSource): void {
    this.#watches.set(name, watch);
  }

  /** The `onHealth` callback of watch `name`: counts restarts and wakes start-up waiters. */
  onHealth(name: string): (health: WatchHealth) => void {
    return (health) => {
      this.#metrics.watchHealth(name, health);
      if (health.synced) { for (const wake of this.#syncWaiters.get(name) ?? []) wake(); }
    };
  }

  /**
   * Runs watch loop `name` until `signal` aborts. The resumable watch handles every API and
   * connection failure itself; anything else that escapes (a bug of ours, such as a TypeError) is
   * logged as an error, marks the watch unhealthy (readiness fails) and restarts the loop with
   * backoff.
   */
  async consume(name: string, signal: AbortSignal, loop: () => Promise<void>): Promise<void> {
    const backoff = new Backoff({
      initialMs: 800,
      maxMs: 30_000,
      resetAfterMs: LOOP_BACKOFF_RESET_MS,
    });
    try {
      await this.#loop(name, signal, loop, { backoff, failures: 0 });
    } finally {
      this.#watches.delete(name);
    }
  }

  /** The restart loop of {@linkcode consume}. */
  async #loop(
    name: string,
    signal: AbortSignal,
    loop: () => Promise<void>,
    state: { backoff: Backoff; failures: number },
  ): Promise<void> {
    const { backoff } = state;
    while (!signal.aborted) {
      this.#metrics.watchReplaced(name);
      try {
        await loop();
      } catch (error) {
        if (signal.aborted) return;
        const delay = backoff.next();
        log("manager").error("{watch} watch failed: {error}; restarting in {delay} ms", {
          watch: name,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
          delay: Math.round(delay),
        });
        const failed: WatchHealth = {
          synced: false,
          lastEventAt: 0,
          restarts: ++state.failures,
          connected: false,
          disconnectedSince: 0,
          skipped: { oversize: 0, undecodable: 0 },
        };
        this.#watches.set(name, { health: () => failed });
        await sleep(delay, signal).catch(() => {});
      }
    }
  }

  /**
   * Starts the `next` watches one after the other, each once the one before delivered its
   * initial state (or after {@linkcode START_IN_TURN_TIMEOUT_MS}), after watch `first`; resolves
   * when the last one has (or the same timeout passed). A start that starts nothing (returns
   * `undefined`) is not waited for. Streaming lists of thousands of objects arrive one HTTP chunk
   * per object, and taking them in turn rather than all at once keeps the start-up memory peak
   * lower.
   */
  async startInTurn(
    first: string,
    next: readonly WatchStart[],
    options: { loops: Promise<void>[]; signal: AbortSignal },
  ): Promise<void> {
    const { loops, signal } = options;
    let previous: string | undefined = first;
    for (const [name, start] of [...next, ["", undefined] as const]) {
      if (previous !== undefined) {
        await this.synced(previous, { signal, timeoutMs: START_IN_TURN_TIMEOUT_MS });
      }
      if (signal.aborted || start === undefined) return;
      const started = start();
      if (started !== undefined) loops.push(started);
      previous = started === undefined ? undefined : name;
    }
  }

  /**
   * Resolves once watch `name` has delivered its initial state (at once if it has), on abort, or
   * after `timeoutMs` when given.
   */
  synced(name: string, options: { signal: AbortSignal; timeoutMs?: number }): Promise<void> {
    const { signal, timeoutMs } = options;
    return new Promise<void>((resolve) => {
      const waiters = this.#syncWaiters.get(name) ?? new Set();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        waiters.delete(done);
        if (waiters.size === 0) this.#syncWaiters.delete(name);
        resolve();
      };
      const timer = timeoutMs === undefined ? undefined : setTimeout(done, timeoutMs);
      signal.addEventListener("abort", done, { once: true });
      if (signal.aborted || this.health(name)?.synced) return done();
      waiters.add(done);
      this.#syncWaiters.set(name, waiters);
    });
  }
}
