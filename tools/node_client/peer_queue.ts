// The peer operator's work queue, built like client-go's rate-limiting work queue (what a
// kubebuilder operator gets from controller-runtime): a key is queued at most once, a key being
// processed is not handed to a second worker (an add meanwhile queues it again once done), and
// failed keys come back after a per-key exponential backoff (5 ms doubling up to 1,000 s) that
// `forget` resets. It lives here so the peer carries nothing from the operator under test.

/** Backoff of the first failure, as client-go's `DefaultControllerRateLimiter`. */
const BASE_DELAY_MS = 5;
/** Longest backoff, as client-go's `DefaultControllerRateLimiter`. */
const MAX_DELAY_MS = 1_000_000;

/** A deduplicating FIFO of keys with delayed and rate-limited adds. */
export class PeerQueue {
  #queue: string[] = [];
  #head = 0;
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #waiters: ((key: string | undefined) => void)[] = [];
  #shutDown = false;

  /** Queues `key` unless it is already waiting. */
  add(key: string): void {
    if (this.#shutDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    this.#push(key);
  }

  /** Queues `key` after `ms`. */
  addAfter(key: string, ms: number): void {
    if (this.#shutDown) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.add(key);
    }, ms);
    this.#timers.add(timer);
  }

  /** Queues `key` after its next backoff step. */
  addRateLimited(key: string): void {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    this.addAfter(key, Math.min(BASE_DELAY_MS * 2 ** failures, MAX_DELAY_MS));
  }

  /** Resets the backoff of `key` (after a success). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** The next key to process; undefined once shut down. Call {@linkcode done} after. */
  get(): Promise<string | undefined> {
    if (this.#head < this.#queue.length) return Promise.resolve(this.#take());
    if (this.#shutDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Marks `key` processed; queues it again if it was added meanwhile. */
  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key)) this.#push(key);
  }

  /** Keys waiting (not being processed). */
  get length(): number {
    return this.#queue.length - this.#head;
  }

  /** Stops handing out keys: waiting `get` calls resolve to undefined. */
  shutDown(): void {
    this.#shutDown = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const waiter of this.#waiters) waiter(undefined);
    this.#waiters = [];
  }

  #push(key: string): void {
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter(this.#claim(key));
      return;
    }
    this.#queue.push(key);
  }

  #take(): string {
    const key = this.#queue[this.#head++];
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return this.#claim(key);
  }

  #claim(key: string): string {
    this.#dirty.delete(key);
    this.#processing.add(key);
    return key;
  }
}
