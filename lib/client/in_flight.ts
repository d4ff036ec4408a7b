// A bound on the requests in flight to one API server (client-go's rate limiting is by QPS; this
// bounds concurrency instead): a slot is taken before sending and given back once the answer is
// read, waiters are served in order, and a waiter whose request is aborted leaves the line.

/** Counts requests in flight and makes the ones over the limit wait for a slot. */
export class InFlightLimit {
  readonly #max: number;
  #inFlight = 0;
  #waiting: (() => void)[] = [];

  /** Allows `max` requests in flight at once. */
  constructor(max: number) {
    this.#max = max;
  }

  /** Takes a slot, waiting for one if all are taken; rejects when `signal` aborts first. */
  async acquire(signal?: AbortSignal): Promise<void> {
    if (this.#inFlight < this.#max) {
      this.#inFlight++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        this.#waiting = this.#waiting.filter((waiter) => waiter !== grant);
        reject(signal!.reason);
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(grant);
    });
  }

  /** Gives a slot back, to the first waiter if there is one. */
  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#inFlight--;
  }
}
