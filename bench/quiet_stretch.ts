// When a process under measurement went quiet, from samples taken while waiting for it: the start
// of the stretch since which it has sent no request and used (almost) no CPU. Judging whole
// windows instead put the start at the end of the first window in which work happened, so a
// restart whose last request came early and whose CPU work ended soon after read as one window
// (2 s) long however short it was.

/** One look at the process: when, its server's request count, its CPU time so far. */
export interface QuietSample {
  /** `performance.now()` of the sample, in ms. */
  at: number;
  /** Requests the server has counted so far. */
  requests: number;
  /** CPU time the process has used so far, in ms. */
  cpuMs: number;
}

/** Options of {@linkcode QuietStretch}. */
export interface QuietStretchOptions {
  /** How long the stretch must last, in ms. */
  quietMs: number;
  /**
   * Share of a core above which one interval between samples counts as work (default 0.2: the
   * CPU time comes in 10 ms ticks, so a single tick in a 100 ms interval is not work).
   */
  busyShare?: number;
  /** Share of a core the whole stretch may use (default 0.05). */
  idleShare?: number;
}

/**
 * Feeds on samples; {@linkcode add} returns the start of the quiet stretch once it has lasted
 * `quietMs`. A stretch starts after the last interval with a request or with more CPU than
 * `busyShare` of it; a stretch that used more than `idleShare` in all starts again at its end.
 */
export class QuietStretch {
  readonly #options: Required<QuietStretchOptions>;
  #last: QuietSample;
  #start: QuietSample;

  /** Starts with the first sample, which also starts the first stretch. */
  constructor(first: QuietSample, options: QuietStretchOptions) {
    this.#options = { busyShare: 0.2, idleShare: 0.05, ...options };
    this.#last = first;
    this.#start = first;
  }

  /** Takes the next sample; returns the stretch's start once it is `quietMs` long. */
  add(sample: QuietSample): number | undefined {
    const { quietMs, busyShare, idleShare } = this.#options;
    const last = this.#last;
    this.#last = sample;
    const worked = sample.requests !== last.requests ||
      sample.cpuMs - last.cpuMs > (sample.at - last.at) * busyShare;
    if (worked) {
      this.#start = sample;
      return undefined;
    }
    const start = this.#start;
    if (sample.at - start.at < quietMs) return undefined;
    if (sample.cpuMs - start.cpuMs > (sample.at - start.at) * idleShare) {
      this.#start = sample;
      return undefined;
    }
    return start.at;
  }
}
