// The resumable watch: current state, a SYNCED marker, then changes, surviving drops, 410s, stalls
// and garbage without missing a change. One state machine (known keys and resourceVersion, relist,
// streaming-list fallback, inactivity timer, restart classification) kept in one file, above the
// usual size, because its invariants span those parts and read best together.
import { log } from "../log.ts";
import { Backoff, type BackoffPolicy, sleep } from "../backoff.ts";
import {
  ApiError,
  apiErrorFromStatus,
  BadRequestError,
  ConnectionError,
  GoneError,
  InvalidError,
  RequestTimeoutError,
  ResponseLimitError,
  TooManyRequestsError,
  type WatchSkipReason,
  WatchStreamError,
} from "./errors.ts";
import { listAll, listPages, type ListQuery, METADATA_ONLY_WATCH_ACCEPT } from "./list.ts";
import type { Requester } from "./request.ts";
import type { KubeObjectBase } from "./types.ts";
import { DEFAULT_MAX_LINE_BYTES, parseWatchStream, type WatchStreamEvent } from "./watch_stream.ts";

/** What a resumable watch yields. */
export type WatchEvent<T extends KubeObjectBase> =
  | { type: "ADDED" | "MODIFIED" | "DELETED"; object: T }
  | { type: "SYNCED"; resourceVersion: string };

/** Liveness of a watch, for readiness probes. */
export interface WatchHealth {
  /** True once the current state has been delivered (false again while relisting). */
  synced: boolean;
  /** When bytes (events or bookmarks) last arrived (or the watch was created), ms epoch. */
  lastEventAt: number;
  /** Whether a watch connection is open now (its response headers arrived). */
  connected: boolean;
  /** Since when no connection has been open (ms epoch), while {@linkcode connected} is false. */
  disconnectedSince?: number;
  /** Events skipped because their line was too long or could not be decoded, by reason. */
  skipped: Record<WatchSkipReason, number>;
  /** How many times the connection was restarted after a failure or a normal end. */
  restarts: number;
  /** Why the last restart happened. */
  lastRestartReason?: string;
  /** The kind of the last restart, a small fixed set for metric labels. */
  lastRestartCause?: WatchRestartCause;
}

/**
 * Why a watch restarted: `closed` (normal end or server timeout), `expired` (410: relist),
 * `fallback` (streaming list unsupported: list + watch), `throttled` (429), `api-error`
 * (other error answers), `malformed` (an event line too long or not decodable: skipped, relist),
 * `inactive` (no bytes for the inactivity timeout), `timeout` (no answer within the request
 * timeout), `limit` (a relist past the client's list limits), `connection` (network failure).
 */
export type WatchRestartCause =
  | "closed"
  | "expired"
  | "fallback"
  | "throttled"
  | "api-error"
  | "malformed"
  | "inactive"
  | "timeout"
  | "limit"
  | "connection";

/** Timings of a resumable watch; the defaults are client-go's. Tests shorten them. */
export interface WatchTimings {
  /** Smallest server-side `timeoutSeconds` (default 300). */
  minTimeoutSeconds?: number;
  /** Largest server-side `timeoutSeconds` (default 600). */
  maxTimeoutSeconds?: number;
  /** No bytes for this long: reconnect (default 70 000 ms). */
  inactivityTimeoutMs?: number;
  /** Streaming list: no initial-events-end bookmark and no event for this long: fall back to list + watch (default 10 000 ms). */
  initialEventsTimeoutMs?: number;
  /** Backoff after failures (default 800 ms to 30 s, jitter 1, reset after 120 s of health). */
  backoff?: BackoffPolicy;
  /** Longest accepted event line (default 12 MiB); a longer one is skipped, then a relist. */
  maxLineBytes?: number;
}

/** Options of {@linkcode ResumableWatch}. */
export interface ResumableWatchOptions {
  /** Collection path, e.g. `/api/v1/namespaces` or `/apis/kleff.kleff.io/v1/tenants`. */
  path: string;
  /** Label selector. */
  labelSelector?: string;
  /** Field selector. */
  fieldSelector?: string;
  /** Page size of lists (default 500). */
  limit?: number;
  /** Ends the iteration promptly and closes the connection. */
  signal: AbortSignal;
  /** Called whenever {@linkcode WatchHealth} changes (sync state or a restart). */
  onHealth?: (health: WatchHealth) => void;
  /** Try a streaming list (`sendInitialEvents=true`) before list + watch (default true). */
  streamingList?: boolean;
  /**
   * Receive `PartialObjectMetadata` (metadata only) instead of whole objects: far fewer bytes
   * for callers that only need names and labels (servers that cannot do it send whole objects).
   */
  metadataOnly?: boolean;
  /** Timing overrides. */
  timings?: WatchTimings;
  /**
   * Keep no object keys once the initial state is delivered (default false). A later relist (a
   * 410, a skipped event) then yields no objects: the watch resumes from the resourceVersion of a
   * one-item list and yields SYNCED, and what changed in between is the caller's to find out (the
   * operator compares every tenant with fresh lists then); DELETED events pass as the server
   * sends them. Saves a key and a resourceVersion per object for callers that do that anyway.
   */
  forgetAfterSync?: boolean;
}

const INITIAL_EVENTS_END = "k8s.io/initial-events-end";
const logger = log("client", "watch");

class InactivityError extends Error {}
class InitialEventsTimeoutError extends Error {}
class QuickCloseError extends Error {}

/**
 * A watch a caller just loops over. It yields the current state (ADDED, and on a relist
 * MODIFIED/DELETED to correct the caller's view), then `SYNCED`, then changes; it resumes
 * from the last resourceVersion seen (bookmarks included) without a new list, relists on 410,
 * and backs off on failures. Only abort ends it.
 */
export class ResumableWatch<T extends KubeObjectBase> implements AsyncIterable<WatchEvent<T>> {
  #requester: Requester;
  #options: ResumableWatchOptions;
  #timings: Required<WatchTimings>;
  #health: WatchHealth = {
    synced: false,
    lastEventAt: Date.now(),
    restarts: 0,
    connected: false,
    disconnectedSince: Date.now(),
    skipped: { oversize: 0, undecodable: 0 },
  };
  /** After a skipped event: relist with a plain list, which does not carry events as lines. */
  #plainListOnce = false;
  /**
   * Object key (`namespace/name`, or the name of a cluster-scoped object) -> resourceVersion of
   * every object the caller was told about (until the initial
   * state is delivered, with {@linkcode ResumableWatchOptions.forgetAfterSync}).
   */
  #known = new Map<string, string>();
  /** Set once {@linkcode ResumableWatchOptions.forgetAfterSync} dropped {@linkcode #known}. */
  #forgotten = false;
  #resourceVersion?: string;
  #streamingList: boolean;
  #started = false;
  /** Whether the last connection delivered events or lasted a second: a break then is a plain end, not a failure. */
  #lastConnectionHealthy = false;

  /** Creates the watch; nothing is sent until iteration starts. */
  constructor(requester: Requester, options: ResumableWatchOptions) {
    this.#requester = requester;
    this.#options = options;
    this.#streamingList = options.streamingList ?? true;
    this.#timings = {
      minTimeoutSeconds: 300,
      maxTimeoutSeconds: 600,
      inactivityTimeoutMs: 70_000,
      initialEventsTimeoutMs: 10_000,
      backoff: { initialMs: 800, maxMs: 30_000, jitter: 1, resetAfterMs: 120_000 },
      maxLineBytes: DEFAULT_MAX_LINE_BYTES,
      ...options.timings,
    };
  }

  /** A snapshot of the watch's health. */
  health(): WatchHealth {
    return { ...this.#health, skipped: { ...this.#health.skipped } };
  }

  /** Iterates the events; may be called once. */
  [Symbol.asyncIterator](): AsyncIterator<WatchEvent<T>> {
    if (this.#started) throw new Error("a ResumableWatch can be iterated only once");
    this.#started = true;
    return this.#run();
  }

  async *#run(): AsyncGenerator<WatchEvent<T>> {
    const { signal } = this.#options;
    const backoff = new Backoff(this.#timings.backoff);
    while (!signal.aborted) {
      let delay = 0;
      let reason: string;
      let cause: WatchRestartCause = "closed";
      try {
        if (this.#resourceVersion === undefined && this.#forgotten) {
          yield* this.#resume();
        } else if (
          this.#resourceVersion === undefined && (!this.#streamingList || this.#plainListOnce)
        ) {
          yield* this.#list();
          this.#plainListOnce = false;
        }
        yield* this.#watchOnce();
        reason = "watch ended";
      } catch (error) {
        if (signal.aborted) return;
        const restart = this.#classify(error);
        if (!restart) throw error;
        ({ reason, cause } = restart);
        if (!restart.immediate) {
          delay = backoff.next();
          if (error instanceof TooManyRequestsError && error.retryAfterSeconds) {
            delay = Math.max(delay, error.retryAfterSeconds * 1000);
          }
        }
        logger.warn("watch {path}: {reason}; restarting in {delay} ms", {
          path: this.#options.path,
          reason,
          delay: Math.round(delay),
        });
      }
      this.#health.restarts++;
      this.#health.lastRestartReason = reason;
      this.#health.lastRestartCause = cause;
      this.#notify();
      if (delay > 0) {
        try {
          await sleep(delay, signal);
        } catch {
          return;
        }
      }
    }
  }

  /**
   * Describes a restart (a short reason, its cause, and whether it needs no backoff) and adjusts
   * state; undefined for errors that are not the watch's to handle.
   */
  #classify(
    error: unknown,
  ): { reason: string; cause: WatchRestartCause; immediate: boolean } | undefined {
    if (error instanceof GoneError) {
      this.#resourceVersion = undefined;
      return {
        reason: `resourceVersion expired (${error.reason || 410}): relisting`,
        cause: "expired",
        immediate: true,
      };
    }
    const streamingRejection = this.#resourceVersion === undefined && this.#streamingList &&
      (error instanceof BadRequestError || error instanceof InvalidError);
    if (streamingRejection) {
      this.#streamingList = false;
      return {
        reason: `streaming list rejected (${error.code}): falling back to list + watch`,
        cause: "fallback",
        immediate: true,
      };
    }
    if (error instanceof InitialEventsTimeoutError) {
      this.#streamingList = false;
      return {
        reason: "no initial-events-end bookmark: falling back to list + watch",
        cause: "fallback",
        immediate: true,
      };
    }
    if (error instanceof ApiError) {
      return {
        reason: `${error.code} ${error.reason || "error"}: ${error.message}`,
        cause: error instanceof TooManyRequestsError ? "throttled" : "api-error",
        immediate: false,
      };
    }
    if (error instanceof WatchStreamError) {
      this.#health.skipped[error.reason]++;
      logger.error("watch {path}: skipped an event{object}: {error}; relisting", {
        path: this.#options.path,
        object: error.object ? ` about ${error.object}` : "",
        error: error.message,
      });
      this.#resourceVersion = undefined;
      this.#plainListOnce = true;
      return { reason: error.message, cause: "malformed", immediate: false };
    }
    if (error instanceof InactivityError) {
      return { reason: error.message, cause: "inactive", immediate: false };
    }
    if (error instanceof RequestTimeoutError) {
      return { reason: error.message, cause: "timeout", immediate: false };
    }
    if (error instanceof ResponseLimitError) {
      return { reason: error.message, cause: "limit", immediate: false };
    }
    if (error instanceof QuickCloseError) {
      return { reason: error.message, cause: "closed", immediate: false };
    }
    if (error instanceof ConnectionError) {
      // A break after a healthy connection is a plain end, not a failure.
      return { reason: error.message, cause: "connection", immediate: this.#lastConnectionHealthy };
    }
    // Anything else (a TypeError of our own code, say) is a bug: it surfaces to the caller.
    return undefined;
  }

  /** Lists, then yields what makes the caller's view equal to the list, then SYNCED. */
  async *#list(): AsyncGenerator<WatchEvent<T>> {
    const list = await listAll<T>(this.#requester, this.#listQuery(this.#options.limit));
    const seen = new Set<string>();
    for (const object of list.items) {
      const event = this.#apply("ADDED", object, seen);
      if (event) yield event;
    }
    yield* this.#finishSync(seen, list.resourceVersion);
  }

  /**
   * After the initial state, once keys are forgotten: resumes from the resourceVersion of a
   * one-item list (a consistent read) and yields SYNCED, without the objects. A server that
   * gives no resourceVersion gets a whole initial state instead, passed on as it comes.
   */
  async *#resume(): AsyncGenerator<WatchEvent<T>> {
    this.#plainListOnce = false;
    this.#unsynced();
    const pages = listPages<T>(this.#requester, this.#listQuery(1));
    const first = await pages.next();
    await pages.return(undefined);
    const resourceVersion = first.done ? "" : first.value.resourceVersion;
    if (resourceVersion) yield* this.#finishSync(new Set(), resourceVersion);
  }

  /** The LIST of this watch's selection, `limit` objects a page. */
  #listQuery(limit: number | undefined): ListQuery {
    const { path, labelSelector, fieldSelector, signal, metadataOnly } = this.#options;
    return { path, labelSelector, fieldSelector, limit, signal, metadataOnly };
  }

  /** Marks the watch as not synced (an initial state to come again), telling `onHealth`. */
  #unsynced(): void {
    if (!this.#health.synced) return;
    this.#health.synced = false;
    this.#notify();
  }

  /** Yields DELETED for known objects not seen in the new state, then SYNCED. */
  *#finishSync(seen: Set<string>, resourceVersion: string): Generator<WatchEvent<T>> {
    // Deleting the visited entry while iterating a Map is safe.
    for (const [key, rv] of this.#known) {
      if (seen.has(key)) continue;
      this.#known.delete(key);
      const slash = key.indexOf("/");
      const namespace = slash < 0 ? "" : key.slice(0, slash);
      const name = key.slice(slash + 1);
      const object = {
        metadata: { name, resourceVersion: rv, ...(namespace ? { namespace } : {}) },
      } as T;
      yield { type: "DELETED", object };
    }
    if (this.#options.forgetAfterSync && !this.#forgotten) {
      this.#forgotten = true;
      this.#known = new Map();
    }
    this.#resourceVersion = resourceVersion;
    this.#health.synced = true;
    this.#notify();
    yield { type: "SYNCED", resourceVersion };
  }

  /**
   * Records an object event and returns what the caller should see: ADDED for a new key,
   * MODIFIED for a known one (nothing when a relist shows it unchanged), DELETED only for known keys.
   */
  #apply(
    type: "ADDED" | "MODIFIED" | "DELETED",
    object: T,
    seen?: Set<string>,
  ): WatchEvent<T> | undefined {
    if (this.#forgotten) return { type, object };
    // A name alone for a cluster-scoped object (names hold no slash): the caller's own copy of
    // the name then serves as the key, rather than a new string per object.
    const name = object.metadata?.name ?? "";
    const namespace = object.metadata?.namespace;
    const key = namespace ? `${namespace}/${name}` : name;
    const rv = object.metadata?.resourceVersion ?? "";
    const previous = this.#known.get(key);
    if (type === "DELETED") {
      if (previous === undefined) return undefined;
      this.#known.delete(key);
      return { type, object };
    }
    seen?.add(key);
    this.#known.set(key, rv);
    if (previous === undefined) return { type: "ADDED", object };
    if (seen && previous === rv) return undefined;
    return { type: "MODIFIED", object };
  }

  /** One watch connection: a streaming list when no resourceVersion is known, else a resume. */
  async *#watchOnce(): AsyncGenerator<WatchEvent<T>> {
    const { signal } = this.#options;
    const initial = this.#resourceVersion === undefined;
    if (initial) this.#unsynced();
    const timings = this.#timings;
    const timeoutSeconds = timings.minTimeoutSeconds +
      Math.floor(Math.random() * (timings.maxTimeoutSeconds - timings.minTimeoutSeconds + 1));
    const connection = new AbortController();
    const connectionSignal = AbortSignal.any([signal, connection.signal]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let inInitial = initial;
    // While a streaming list has not delivered its end bookmark, silence means the server ignored
    // sendInitialEvents; afterwards it means a stalled connection. Chunks only record when they
    // came: one timer checks that on firing and waits out the rest, or aborts.
    let activeAt = Date.now();
    const limit = () => inInitial ? timings.initialEventsTimeoutMs : timings.inactivityTimeoutMs;
    const check = () => {
      const remaining = activeAt + limit() - Date.now();
      if (remaining > 0) {
        timer = setTimeout(check, remaining);
        return;
      }
      if (!inInitial) this.#requester.discardConnections();
      connection.abort(
        inInitial ? new InitialEventsTimeoutError() : new InactivityError(
          `no bytes for ${timings.inactivityTimeoutMs} ms: reconnecting on a fresh connection`,
        ),
      );
    };
    const arm = () => {
      clearTimeout(timer);
      activeAt = Date.now();
      timer = setTimeout(check, limit());
    };
    const started = Date.now();
    let events = 0;
    this.#lastConnectionHealthy = false;
    let reader: ReadableStreamDefaultReader<WatchStreamEvent<T>> | undefined;
    try {
      arm();
      const body = await this.#requester.stream({
        path: this.#options.path,
        query: {
          watch: 1,
          allowWatchBookmarks: true,
          labelSelector: this.#options.labelSelector || undefined,
          fieldSelector: this.#options.fieldSelector || undefined,
          timeoutSeconds,
          ...(initial
            ? { sendInitialEvents: true, resourceVersionMatch: "NotOlderThan" }
            : { resourceVersion: this.#resourceVersion }),
        },
        signal: connectionSignal,
        retry: false,
        accept: this.#options.metadataOnly ? METADATA_ONLY_WATCH_ACCEPT : undefined,
      });
      this.#health.connected = true;
      this.#health.disconnectedSince = undefined;
      this.#notify();
      reader = parseWatchStream<T>(body, {
        maxLineBytes: timings.maxLineBytes,
        onBytes: () => activeAt = this.#health.lastEventAt = Date.now(),
        signal: connectionSignal,
      }).getReader();
      // Keys of the initial state, until it is delivered.
      let seen = initial ? new Set<string>() : undefined;
      for (;;) {
        let result: ReadableStreamReadResult<WatchStreamEvent<T>>;
        try {
          result = await reader.read();
        } catch (error) {
          if (connection.signal.aborted) throw connection.signal.reason;
          if (error instanceof WatchStreamError) throw error;
          // Only the body can fail here: the connection broke (our own code runs outside this try).
          throw new ConnectionError(
            `connection broke (${error instanceof Error ? error.message : String(error)})`,
            { cause: error },
          );
        }
        if (result.done) break;
        events++;
        const event = result.value;
        if (event.type === "ERROR") {
          const status = event.object;
          throw apiErrorFromStatus({ ...status, code: status.code || 500 }, {
            context: `watch ${this.#options.path}`,
          });
        }
        const rv = event.object.metadata?.resourceVersion;
        if (event.type === "BOOKMARK") {
          if (inInitial && event.object.metadata?.annotations?.[INITIAL_EVENTS_END] === "true") {
            inInitial = false;
            arm();
            yield* this.#finishSync(seen!, rv ?? "");
            seen = undefined;
          } else if (!inInitial && rv) {
            this.#resourceVersion = rv;
          }
          continue;
        }
        const out = this.#apply(event.type, event.object, inInitial ? seen : undefined);
        if (!inInitial && rv) this.#resourceVersion = rv;
        if (out) yield out;
      }
      if (events === 0 && Date.now() - started < 1000) {
        throw new QuickCloseError("watch closed in under a second without events");
      }
    } finally {
      if (this.#health.connected) {
        this.#health.connected = false;
        this.#health.disconnectedSince = Date.now();
      }
      this.#lastConnectionHealthy = events > 0 || Date.now() - started >= 1000;
      clearTimeout(timer);
      connection.abort();
      await reader?.cancel().catch(() => {});
    }
  }

  #notify(): void {
    this.#options.onHealth?.(this.health());
  }
}
