// A deadline for one request or one reconcile: a signal that aborts when its parent does or when
// the time is up, linked by hand. `AbortSignal.any` and `AbortSignal.timeout` would do the same
// with weak references and finalization callbacks, which the garbage collector processes for
// every request (garbage collection is over a third of the operator's CPU time when it creates
// tenants under `--optimize-for-size`).

/** A signal aborted by its parent or by a timer; dispose of it when the work is done. */
export class Deadline implements Disposable {
  readonly #controller = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout>;
  readonly #unlink: () => void;
  #expired = false;

  /**
   * Starts the timer of `ms`; when it fires, the signal aborts with `reason()`. With `parent`,
   * the signal also aborts (with the parent's reason) when the parent does.
   */
  constructor(parent: AbortSignal | undefined, options: { ms: number; reason: () => unknown }) {
    const controller = this.#controller;
    this.#timer = setTimeout(() => {
      this.#expired = true;
      controller.abort(options.reason());
    }, options.ms);
    if (parent === undefined) this.#unlink = () => {};
    else {
      const forward = () => controller.abort(parent.reason);
      if (parent.aborted) forward();
      parent.addEventListener("abort", forward, { once: true });
      this.#unlink = () => parent.removeEventListener("abort", forward);
    }
  }

  /** The signal to hand to the work. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Whether the time ran out (rather than the parent aborting). */
  get expired(): boolean {
    return this.#expired;
  }

  /** Stops the timer and unlinks the parent; the signal keeps whatever state it has. */
  [Symbol.dispose](): void {
    clearTimeout(this.#timer);
    this.#unlink();
  }
}
