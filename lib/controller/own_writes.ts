// The operator's own writes, remembered by the resourceVersion their answers carried until the
// watch echoes them (ARCHITECTURE.md §2): an event carrying exactly such a version is the operator's
// own change and needs no reconcile, while any other event still reconciles at once. An event
// that arrives while a write to its object is still waiting for its answer is held until that
// answer says whose it is. Nothing here ever drops an event that is not provably an echo.
import { compareResourceVersions } from "../client/mod.ts";

/** How long an own write is remembered when its echo does not come (a relist can skip it). */
export const OWN_WRITE_TTL_MS = 5 * 60_000;

/** What is remembered of one object. */
interface Entry {
  /** Writes sent and not yet answered. */
  inFlight: number;
  /** Versions own writes produced whose echo has not come yet, with when they are forgotten. */
  own: Map<string, number>;
  /** Events that came while writes were in flight, decided when those are answered. */
  held: { resourceVersion?: string; foreign: () => void }[];
}

/** Options of {@linkcode OwnWrites}. */
export interface OwnWritesOptions {
  /** How long an unechoed write is remembered, in ms (default {@linkcode OWN_WRITE_TTL_MS}). */
  ttlMs?: number;
  /** Clock in ms, for tests (default `performance.now`). */
  now?: () => number;
}

/** How {@linkcode OwnWrites.observe} classified an event. */
export type Provenance = "own" | "foreign" | "held";

/**
 * The writes the operator made, by object key (see {@linkcode ownWriteKey}). The executor calls
 * {@linkcode begin} before each write and the function it returns with the answer's
 * resourceVersion; the watches call {@linkcode observe} for every event.
 */
export class OwnWrites {
  readonly #entries = new Map<string, Entry>();
  readonly #ttlMs: number;
  readonly #now: () => number;
  #sweptAt: number;

  /** An empty record. */
  constructor(options: OwnWritesOptions = {}) {
    this.#ttlMs = options.ttlMs ?? OWN_WRITE_TTL_MS;
    this.#now = options.now ?? (() => performance.now());
    this.#sweptAt = this.#now();
  }

  /** Objects with something remembered (for tests and the bound on memory). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Notes a write to object `key` being sent; returns the function to call once it is answered,
   * with the resourceVersion of the object the answer carried (`undefined`: no answer, or one
   * without a version, such as a `Status`).
   */
  begin(key: string): (resourceVersion: string | undefined) => void {
    this.#sweep();
    const entry = this.#entry(key);
    entry.inFlight++;
    let answered = false;
    return (resourceVersion) => {
      if (answered) return;
      answered = true;
      entry.inFlight--;
      if (resourceVersion) entry.own.set(resourceVersion, this.#now() + this.#ttlMs);
      entry.held = entry.held.filter((event) => !this.#consume(entry, event.resourceVersion));
      if (entry.inFlight === 0) {
        const held = entry.held;
        entry.held = [];
        for (const event of held) event.foreign();
      }
      this.#release(key, entry);
    };
  }

  /**
   * Classifies an event on object `key` carrying `resourceVersion`: `own` when it is the echo of
   * an own write (forgotten then); `foreign` otherwise, after calling `foreign`; `held` while a
   * write to `key` waits for its answer: `foreign` is then called once every such write is
   * answered, unless one of them produced this very version.
   */
  observe(key: string, resourceVersion: string | undefined, foreign: () => void): Provenance {
    const entry = this.#entries.get(key);
    if (entry === undefined) {
      foreign();
      return "foreign";
    }
    if (this.#consume(entry, resourceVersion)) {
      this.#release(key, entry);
      return "own";
    }
    if (entry.inFlight > 0) {
      entry.held.push({ resourceVersion, foreign });
      return "held";
    }
    this.#release(key, entry);
    foreign();
    return "foreign";
  }

  /**
   * Whether an object of `key` at `resourceVersion` (from an event) is at least as new as every
   * own write to it whose echo has not come yet: only then may a decision start from it instead
   * of a fresh read. Versions that cannot be ordered (see `compareResourceVersions`) count as
   * older.
   */
  covers(key: string, resourceVersion: string | undefined): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return true;
    if (entry.inFlight > 0) return false;
    if (resourceVersion === undefined) return entry.own.size === 0;
    for (const own of entry.own.keys()) {
      const order = compareResourceVersions(resourceVersion, own);
      if (order === undefined || order < 0) return false;
    }
    return true;
  }

  /** Forgets object `key` (deleted): its unechoed writes no longer matter. */
  forget(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    entry.own.clear();
    this.#release(key, entry);
  }

  /**
   * Whether `resourceVersion` is the echo of an own write of `entry`; if so it is forgotten, with
   * every earlier own version (their echoes were skipped, e.g. by a relist).
   */
  #consume(entry: Entry, resourceVersion: string | undefined): boolean {
    if (resourceVersion === undefined || !entry.own.delete(resourceVersion)) return false;
    for (const own of entry.own.keys()) {
      if (compareResourceVersions(own, resourceVersion) === -1) entry.own.delete(own);
    }
    return true;
  }

  #entry(key: string): Entry {
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      this.#entries.set(key, entry = { inFlight: 0, own: new Map(), held: [] });
    }
    return entry;
  }

  #release(key: string, entry: Entry): void {
    if (entry.inFlight === 0 && entry.own.size === 0 && entry.held.length === 0) {
      this.#entries.delete(key);
    }
  }

  /** Forgets, at most once per TTL, the own writes whose echo did not come in time. */
  #sweep(): void {
    const now = this.#now();
    if (now - this.#sweptAt < this.#ttlMs) return;
    this.#sweptAt = now;
    for (const [key, entry] of this.#entries) {
      for (const [version, expires] of entry.own) if (expires <= now) entry.own.delete(version);
      this.#release(key, entry);
    }
  }
}

/** The key of an object in {@linkcode OwnWrites}: its kind, namespace and name. */
export function ownWriteKey(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ""}/${name}`;
}
