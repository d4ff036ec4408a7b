// The work queue between watches and reconciles: one reconcile per key at a
// time, adds during a reconcile coalesce into one rerun, bounded concurrency,
// per-key backoff on failure and delayed requeues (controller-runtime's
// workqueue semantics, without an informer cache behind it), the latest item a
// watch delivered for a waiting key (handed to its reconcile, then forgotten),
// a deadline per reconcile, and the age of the work in flight for liveness and
// metrics.
import { backoffDelay, type BackoffPolicy } from "../backoff.ts";
import { Deadline } from "../deadline.ts";
import { Counter, Gauge, Histogram, Registry } from "../metrics/mod.ts";

type Labels = Record<string, string>;

/** What a reconcile asks the queue to do next with its key. */
export interface WorkResult {
  /** Run this key again after this many ms (a success: its failure count resets). */
  requeueAfterMs?: number;
  /**
   * Run this key again after its next backoff delay, without counting an error (controller-
   * runtime's `Result{Requeue: true}`): a routine retry, such as a write that met a newer
   * version of an object and must be decided again from fresh state.
   */
  retry?: boolean;
}

/**
 * The function the queue runs for each key, with the latest item added for it since its last run
 * (`undefined` when none was). Throwing means "this reconcile failed": counted in
 * `controller_runtime_reconcile_errors_total`, reported to `onError`, retried with backoff.
 */
export type WorkHandler<T> = (
  key: string,
  signal: AbortSignal,
  item: T | undefined,
) => Promise<WorkResult | void>;

/** Options of {@linkcode WorkQueue}. */
export interface WorkQueueOptions {
  /** Queue name, the `name` label of the workqueue metrics. */
  name: string;
  /** Keys reconciled at the same time (at least 1). */
  concurrency: number;
  /** Per-key retry delays after failures (default 500 ms doubling to 5 min). */
  backoff?: BackoffPolicy;
  /** Registry receiving controller-runtime's `workqueue_*` metrics. */
  metrics?: Registry;
  /** Called with the error when a handler throws (for logging). */
  onError?: (key: string, error: unknown, retryInMs: number) => void;
  /**
   * Deadline of one handler call, in ms: its signal aborts then, and the call counts as failed
   * (default none). A handler still running well past it ignores its signal: a stuck worker.
   */
  timeoutMs?: number;
}

/** A handler call that ran past {@linkcode WorkQueueOptions.timeoutMs}: it was aborted. */
export class WorkTimeoutError extends Error {
  /** Builds the error naming the key and the deadline. */
  constructor(key: string, timeoutMs: number) {
    super(`${key}: aborted after ${timeoutMs / 1000} s (the reconcile deadline)`);
    this.name = "WorkTimeoutError";
  }
}

/** The oldest handler call in flight. */
export interface RunningWork {
  /** Its key. */
  key: string;
  /** How long it has been running, in ms. */
  ageMs: number;
}

/** A gauge sampled when exposed (the age of work in flight changes without events). */
class SampledGauge extends Gauge {
  readonly #sample: () => [Labels, number];

  constructor(name: string, help: string, sample: () => [Labels, number]) {
    super(name, help);
    this.#sample = sample;
  }

  override expose(): string {
    const [labels, value] = this.#sample();
    this.set(labels, value);
    return super.expose();
  }
}

/** The default per-key failure backoff. */
const DEFAULT_WORK_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 300_000, jitter: 0.2 };

/** Metric families of one queue and its controller (controller-runtime's names). */
class QueueMetrics {
  readonly reconciles: Counter;
  readonly reconcileErrors: Counter;
  readonly reconcileTime: Histogram;
  readonly maxConcurrent: Gauge;
  readonly workers: Gauge;
  readonly depth: Gauge;
  readonly adds: Counter;
  readonly retries: Counter;
  readonly queueDuration: Histogram;
  readonly workDuration: Histogram;
  /** Labels of the `workqueue_*` series. */
  readonly queue: { name: string };
  /** Labels of the `controller_runtime_*` series. */
  readonly controller: { controller: string };

  constructor(
    registry: Registry,
    name: string,
    inFlight: { longestMs: () => number; totalMs: () => number },
  ) {
    this.queue = { name };
    registry.register(
      new SampledGauge(
        "workqueue_longest_running_processor_seconds",
        "How many seconds has the longest running processor for workqueue been running.",
        () => [this.queue, inFlight.longestMs() / 1000],
      ),
    );
    registry.register(
      new SampledGauge(
        "workqueue_unfinished_work_seconds",
        "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.",
        () => [this.queue, inFlight.totalMs() / 1000],
      ),
    );
    this.controller = { controller: name };
    this.reconciles = registry.register(
      new Counter(
        "controller_runtime_reconcile_total",
        "Total number of reconciliations per controller",
      ),
    );
    this.reconcileErrors = registry.register(
      new Counter(
        "controller_runtime_reconcile_errors_total",
        "Total number of reconciliation errors per controller",
      ),
    );
    this.reconcileTime = registry.register(
      new Histogram(
        "controller_runtime_reconcile_time_seconds",
        "Length of time per reconciliation per controller",
      ),
    );
    this.maxConcurrent = registry.register(
      new Gauge(
        "controller_runtime_max_concurrent_reconciles",
        "Maximum number of concurrent reconciles per controller",
      ),
    );
    this.workers = registry.register(
      new Gauge(
        "controller_runtime_active_workers",
        "Number of currently used workers per controller",
      ),
    );
    this.depth = registry.register(new Gauge("workqueue_depth", "Current depth of workqueue"));
    this.adds = registry.register(
      new Counter("workqueue_adds_total", "Total number of adds handled by workqueue"),
    );
    this.retries = registry.register(
      new Counter("workqueue_retries_total", "Total number of retries handled by workqueue"),
    );
    this.queueDuration = registry.register(
      new Histogram(
        "workqueue_queue_duration_seconds",
        "How long in seconds an item stays in workqueue before being requested",
      ),
    );
    this.workDuration = registry.register(
      new Histogram(
        "workqueue_work_duration_seconds",
        "How long in seconds processing an item from workqueue takes",
      ),
    );
  }
}

/**
 * A keyed work queue. Keys are strings (for tenants, the Tenant name). A key is
 * never processed by two workers at once; adding a key that is waiting is a
 * no-op, and adding one that is being processed makes it run once more after.
 * An add may carry an item (for tenants, the Tenant as the watch delivered it):
 * a waiting key keeps the latest one, its handler gets it, and the queue then
 * forgets it, so the items held are bounded by the keys waiting.
 */
export class WorkQueue<T = never> {
  readonly #options: WorkQueueOptions;
  readonly #backoff: BackoffPolicy;
  readonly #waiting: string[] = [];
  #head = 0;
  readonly #addedAt = new Map<string, number>();
  /** The latest item of each waiting key that was added with one. */
  readonly #items = new Map<string, T>();
  /** Keys being processed, with when their handler call started (performance.now()). */
  readonly #processing = new Map<string, number>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, { due: number; id: ReturnType<typeof setTimeout> }>();
  readonly #metrics: QueueMetrics;
  #wake: (() => void) | undefined;
  #stopped = false;

  /** Creates an idle queue; {@linkcode run} starts the workers. */
  constructor(options: WorkQueueOptions) {
    if (!(options.concurrency >= 1)) {
      throw new RangeError(`work queue concurrency must be at least 1, got ${options.concurrency}`);
    }
    this.#options = options;
    this.#backoff = options.backoff ?? DEFAULT_WORK_BACKOFF;
    this.#metrics = new QueueMetrics(options.metrics ?? new Registry(), options.name, {
      longestMs: () => this.oldestRunning()?.ageMs ?? 0,
      totalMs: () => {
        const now = performance.now();
        let total = 0;
        for (const started of this.#processing.values()) total += now - started;
        return total;
      },
    });
    this.#metrics.maxConcurrent.set(this.#metrics.controller, options.concurrency);
  }

  /** Keys waiting to be processed (not counting delayed or running ones). */
  get depth(): number {
    return this.#addedAt.size;
  }

  /** Keys being processed right now. */
  get active(): number {
    return this.#processing.size;
  }

  /** The handler call running longest right now, if any. */
  oldestRunning(now: number = performance.now()): RunningWork | undefined {
    let oldest: RunningWork | undefined;
    for (const [key, started] of this.#processing) {
      const ageMs = now - started;
      if (!oldest || ageMs > oldest.ageMs) oldest = { key, ageMs };
    }
    return oldest;
  }

  /**
   * Queues `key` now (coalescing with a waiting or running copy). With `item`, it replaces the
   * item the key waits with; without, the key keeps the one it has, if any.
   */
  add(key: string, item?: T): void {
    if (this.#stopped) return;
    if (item !== undefined) this.#items.set(key, item);
    if (this.#addedAt.has(key)) return;
    this.#metrics.adds.inc(this.#metrics.queue);
    this.#addedAt.set(key, performance.now());
    this.#metrics.depth.set(this.#metrics.queue, this.#addedAt.size);
    if (!this.#processing.has(key)) {
      this.#waiting.push(key);
      this.#wake?.();
    }
  }

  /**
   * Replaces the item of `key` if the key is waiting (or waits to run again), without queueing
   * it: a newer version of what it waits with, which by itself needs no reconcile.
   */
  carry(key: string, item: T): void {
    if (!this.#stopped && this.#addedAt.has(key)) this.#items.set(key, item);
  }

  /** Queues `key` after `delayMs`; an earlier pending delay for it wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#stopped) return;
    if (delayMs <= 0) return this.add(key);
    const due = performance.now() + delayMs;
    const timer = this.#timers.get(key);
    if (timer && timer.due <= due) return;
    if (timer) clearTimeout(timer.id);
    const id = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, delayMs);
    this.#timers.set(key, { due, id });
  }

  /** Queues `key` after its next backoff delay and returns that delay. */
  addRateLimited(key: string): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    const delay = backoffDelay(this.#backoff, failures);
    this.#metrics.retries.inc(this.#metrics.queue);
    this.addAfter(key, delay);
    return delay;
  }

  /** Resets the failure count of `key` (after a success). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** How many times in a row `key` has failed. */
  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /**
   * Runs `handler` over queued keys with the configured concurrency until
   * `signal` aborts; then stops taking work, waits for running handlers to
   * finish, drops delayed keys and resolves.
   */
  async run(handler: WorkHandler<T>, signal: AbortSignal): Promise<void> {
    const stop = () => {
      this.#stopped = true;
      this.#wake?.();
    };
    signal.addEventListener("abort", stop, { once: true });
    if (signal.aborted) stop();
    const workers = Array.from(
      { length: this.#options.concurrency },
      () => this.#worker(handler, signal),
    );
    try {
      await Promise.all(workers);
    } finally {
      signal.removeEventListener("abort", stop);
      for (const timer of this.#timers.values()) clearTimeout(timer.id);
      this.#timers.clear();
    }
  }

  async #worker(handler: WorkHandler<T>, signal: AbortSignal): Promise<void> {
    while (!this.#stopped) {
      const key = this.#next();
      if (key === undefined) {
        await new Promise<void>((resolve) => {
          const previous = this.#wake;
          this.#wake = () => {
            this.#wake = undefined;
            previous?.();
            resolve();
          };
        });
        continue;
      }
      await this.#process(key, handler, signal);
    }
  }

  #next(): string | undefined {
    while (this.#head < this.#waiting.length) {
      const key = this.#waiting[this.#head++];
      if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
        this.#waiting.splice(0, this.#head);
        this.#head = 0;
      }
      if (!this.#processing.has(key) && this.#addedAt.has(key)) return key;
    }
    return undefined;
  }

  async #process(key: string, handler: WorkHandler<T>, signal: AbortSignal): Promise<void> {
    const m = this.#metrics;
    const { queue, controller } = m;
    const addedAt = this.#addedAt.get(key)!;
    this.#addedAt.delete(key);
    const item = this.#items.get(key);
    this.#items.delete(key);
    const started = performance.now();
    this.#processing.set(key, started);
    m.depth.set(queue, this.#addedAt.size);
    m.queueDuration.observe(queue, (started - addedAt) / 1000);
    m.workers.set(controller, this.#processing.size);
    const timeoutMs = this.#options.timeoutMs;
    using deadline = timeoutMs === undefined ? undefined : new Deadline(signal, {
      ms: timeoutMs,
      reason: () => new WorkTimeoutError(key, timeoutMs),
    });
    try {
      const result = await handler(key, deadline?.signal ?? signal, item);
      if (result?.retry) {
        if (!signal.aborted) this.addRateLimited(key);
        m.reconciles.inc({ ...controller, result: "requeue" });
        return;
      }
      this.forget(key);
      const requeue = result?.requeueAfterMs;
      if (requeue !== undefined) this.addAfter(key, requeue);
      const outcome = requeue === undefined ? "success" : requeue > 0 ? "requeue_after" : "requeue";
      m.reconciles.inc({ ...controller, result: outcome });
    } catch (thrown) {
      m.reconciles.inc({ ...controller, result: "error" });
      m.reconcileErrors.inc(controller);
      if (!signal.aborted) {
        const error = deadline?.expired ? deadline.signal.reason : thrown;
        const delay = this.addRateLimited(key);
        this.#options.onError?.(key, error, delay);
      }
    } finally {
      const seconds = (performance.now() - started) / 1000;
      m.workDuration.observe(queue, seconds);
      m.reconcileTime.observe(controller, seconds);
      this.#processing.delete(key);
      m.workers.set(controller, this.#processing.size);
      if (this.#addedAt.has(key)) {
        this.#waiting.push(key);
        this.#wake?.();
      }
    }
  }
}
