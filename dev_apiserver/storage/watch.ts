// Watch fan-out: a bounded history for resumes (410 past it), per-watcher filters, bookmarks, timeouts.
import type { ChangeEvent, ChangeType, StoredEntry } from "./store.ts";
import type { StatusBody } from "../http/status.ts";
import type { KubeObject } from "../types.ts";

/** How one watch is served. */
export interface WatchOptions {
  /** Storage key `group/resource`. */
  key: string;
  namespace?: string;
  /** Selector test; absent = every object matches. */
  matches?: (object: KubeObject) => boolean;
  /** apiVersion and kind of the watched resource (objects and bookmarks carry them). */
  apiVersion: string;
  kind: string;
  /** Turns an object into what the event carries (e.g. a Table); absent = the object itself. */
  render?: (object: KubeObject) => unknown;
  /** Resume point: send changes with resourceVersion greater than this; absent = from now. */
  sinceRv?: number;
  /** Objects sent first as synthetic ADDED events. */
  initial?: StoredEntry[];
  /** After the initial events, send the `k8s.io/initial-events-end` bookmark. */
  initialEventsEnd?: boolean;
  /** Send periodic BOOKMARK events. */
  bookmarks: boolean;
  bookmarkIntervalMs: number;
  timeoutMs: number;
}

interface HistoryEvent {
  change: ChangeEvent;
  lines: Map<string, Uint8Array>;
}

const encoder = new TextEncoder();

/** The error that ends a watch response dropped on purpose by fault injection. */
export class WatchDroppedError extends Error {
  /** Builds the error. */
  constructor() {
    super("dev API server: watch connection dropped on purpose (fault injection)");
    this.name = "WatchDroppedError";
  }
}

class Watcher {
  #controller: ReadableStreamDefaultController<Uint8Array>;
  #hub: WatchHub;
  #timers: ReturnType<typeof setTimeout>[] = [];
  #pending: Uint8Array[] = [];
  closed = false;
  readonly options: WatchOptions;

  constructor(
    hub: WatchHub,
    options: WatchOptions,
    controller: ReadableStreamDefaultController<Uint8Array>,
  ) {
    this.#hub = hub;
    this.options = options;
    this.#controller = controller;
    this.#timers.push(setTimeout(() => this.finish(), options.timeoutMs));
    if (options.bookmarks) {
      this.#timers.push(setInterval(() => {
        if (!hub.stalled) this.sendBookmark(false);
      }, options.bookmarkIntervalMs));
    }
  }

  send(bytes: Uint8Array): void {
    if (this.closed) return;
    if (this.#hub.stalled) {
      this.#pending.push(bytes);
      return;
    }
    this.#controller.enqueue(bytes);
  }

  flushPending(): void {
    const pending = this.#pending;
    this.#pending = [];
    for (const bytes of pending) this.send(bytes);
  }

  sendBookmark(initialEventsEnd: boolean): void {
    // creationTimestamp: null, as kube's encoder writes the zero time of the empty object.
    const metadata: Record<string, unknown> = {
      resourceVersion: String(this.#hub.rv()),
      creationTimestamp: null,
    };
    if (initialEventsEnd) metadata.annotations = { "k8s.io/initial-events-end": "true" };
    const object = { kind: this.options.kind, apiVersion: this.options.apiVersion, metadata };
    this.send(encoder.encode(JSON.stringify({ type: "BOOKMARK", object }) + "\n"));
  }

  /** Ends the response normally (with a last bookmark when bookmarks were asked for). */
  finish(): void {
    if (this.closed) return;
    if (this.options.bookmarks && !this.#hub.stalled) this.sendBookmark(false);
    this.#cleanup();
    this.#controller.close();
  }

  /** Ends the response abruptly. */
  abort(): void {
    if (this.closed) return;
    this.#cleanup();
    this.#controller.error(new WatchDroppedError());
  }

  cancelled(): void {
    if (!this.closed) this.#cleanup();
  }

  #cleanup(): void {
    this.closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#hub.forget(this);
  }
}

/** Records every change in a bounded history and streams matching events to open watches. */
export class WatchHub {
  #history: HistoryEvent[] = [];
  #start = 0;
  #limit: number;
  #minResumableRv = 0;
  #watchers = new Map<string, Set<Watcher>>();
  #currentRv: () => number;
  /** Fault injection: the next live events of a resource are sent corrupted. */
  #corruptions: {
    kind: "oversize" | "undecodable";
    resource?: string;
    remaining: number;
    bytes: number;
  }[] = [];
  stalled = false;

  /** Creates a hub keeping at most `historyLimit` events; `currentRv` reads the store's version. */
  constructor(historyLimit: number, currentRv: () => number) {
    this.#limit = Math.max(0, historyLimit);
    this.#currentRv = currentRv;
  }

  /** The current cluster-wide resourceVersion. */
  rv(): number {
    return this.#currentRv();
  }

  /** Number of open watches. */
  get size(): number {
    let n = 0;
    for (const set of this.#watchers.values()) n += set.size;
    return n;
  }

  /** Records a committed change and delivers it to matching watches. */
  publish(change: ChangeEvent): void {
    const event: HistoryEvent = { change, lines: new Map() };
    if (this.#limit > 0) {
      this.#history.push(event);
      if (this.#history.length - this.#start > this.#limit) {
        this.#minResumableRv = this.#history[this.#start].change.rv;
        this.#start++;
        if (this.#start > this.#limit) {
          this.#history = this.#history.slice(this.#start);
          this.#start = 0;
        }
      }
    } else {
      this.#minResumableRv = change.rv;
    }
    const watchers = this.#watchers.get(change.key);
    if (!watchers || watchers.size === 0) return;
    const corrupt = this.#corruption(change);
    for (const watcher of watchers) deliver(watcher, event, corrupt);
  }

  /**
   * Queues a corruption of the next `count` live events of `resource` (fault injection);
   * `undefined` clears every queued one.
   */
  corrupt(
    rule:
      | { kind: "oversize" | "undecodable"; resource?: string; count?: number; bytes?: number }
      | undefined,
  ): void {
    if (rule === undefined) {
      this.#corruptions = [];
      return;
    }
    this.#corruptions.push({
      kind: rule.kind,
      resource: rule.resource,
      remaining: rule.count ?? 1,
      bytes: rule.bytes ?? 13 * 1024 * 1024,
    });
  }

  /** What corrupts the lines of `change` when a queued corruption matches it (one use taken). */
  #corruption(change: ChangeEvent): ((line: Uint8Array) => Uint8Array) | undefined {
    const resource = change.key.slice(change.key.indexOf("/") + 1);
    const index = this.#corruptions.findIndex((rule) =>
      rule.resource === undefined || rule.resource === resource
    );
    if (index < 0) return undefined;
    const rule = this.#corruptions[index];
    if (--rule.remaining <= 0) this.#corruptions.splice(index, 1);
    if (rule.kind === "undecodable") {
      return (line) => {
        const half = line.subarray(0, Math.ceil(line.length / 2));
        return new Uint8Array([...half, 10]);
      };
    }
    // Padding as a last field of the object: kind and name stay first, the line grows.
    const padding = encoder.encode(`,"dev.kleff.io/padding":"${"x".repeat(rule.bytes)}"}}\n`);
    return (line) => {
      const head = line.subarray(0, line.lastIndexOf(125, line.length - 3));
      const out = new Uint8Array(head.length + padding.length);
      out.set(head);
      out.set(padding, head.length);
      return out;
    };
  }

  /** True when changes after `rv` are no longer all in the history. */
  tooOld(rv: number): boolean {
    return rv < this.#minResumableRv;
  }

  /** The oldest resourceVersion a watch can still resume from. */
  get oldestResumableRv(): number {
    return this.#minResumableRv;
  }

  /** The recorded changes after `rv`, oldest first (check {@linkcode WatchHub.tooOld} first). */
  *changesSince(rv: number): Iterable<ChangeEvent> {
    for (const event of this.#since(rv)) yield event.change;
  }

  /** Forgets all history: resuming from any earlier version now gets 410. */
  compact(): void {
    this.#history = [];
    this.#start = 0;
    this.#minResumableRv = this.#currentRv();
  }

  /** Opens a watch; the stream carries newline-delimited JSON watch events. */
  open(options: WatchOptions): ReadableStream<Uint8Array> {
    let watcher: Watcher;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        watcher = new Watcher(this, options, controller);
        for (const entry of options.initial ?? []) {
          watcher.send(encodeEvent("ADDED", entry.object, options));
        }
        if (options.initialEventsEnd) watcher.sendBookmark(true);
        if (options.sinceRv !== undefined) {
          for (const event of this.#since(options.sinceRv)) {
            if (event.change.key === options.key) deliver(watcher, event);
          }
        }
        let set = this.#watchers.get(options.key);
        if (!set) this.#watchers.set(options.key, set = new Set());
        set.add(watcher);
      },
      cancel: () => watcher.cancelled(),
    });
  }

  /** A watch response body carrying one ERROR event with `status`, then closing. */
  errorStream(status: StatusBody): ReadableStream<Uint8Array> {
    const line = encoder.encode(JSON.stringify({ type: "ERROR", object: status }) + "\n");
    return new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(line);
        controller.close();
      },
    });
  }

  /** Abruptly ends every open watch; returns how many. */
  dropAll(): number {
    const all = this.#all();
    for (const watcher of all) watcher.abort();
    return all.length;
  }

  /** Normally ends every open watch of one storage key (when its CRD goes away). */
  finishKey(key: string): void {
    for (const watcher of [...this.#watchers.get(key) ?? []]) watcher.finish();
  }

  /** Normally ends every open watch (server shutdown). */
  finishAll(): void {
    for (const watcher of this.#all()) watcher.finish();
  }

  /** Stalls or resumes delivery to open watches (events are held back, not lost). */
  setStalled(stalled: boolean): void {
    this.stalled = stalled;
    if (!stalled) { for (const watcher of this.#all()) watcher.flushPending(); }
  }

  /** Removes a closed watcher. */
  forget(watcher: Watcher): void {
    this.#watchers.get(watcher.options.key)?.delete(watcher);
  }

  #all(): Watcher[] {
    return [...this.#watchers.values()].flatMap((set) => [...set]);
  }

  *#since(rv: number): Iterable<HistoryEvent> {
    let lo = this.#start;
    let hi = this.#history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#history[mid].change.rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.#history.length; i++) yield this.#history[i];
  }
}

function deliver(
  watcher: Watcher,
  event: HistoryEvent,
  corrupt?: (line: Uint8Array) => Uint8Array,
): void {
  const { change } = event;
  const options = watcher.options;
  if (options.namespace !== undefined && change.namespace !== options.namespace) return;
  let type: ChangeType = change.type;
  if (options.matches) {
    const now = options.matches(change.entry.object);
    if (change.type === "MODIFIED") {
      const before = change.before ? options.matches(change.before.object) : false;
      if (!now && !before) return;
      if (now && !before) type = "ADDED";
      if (!now && before) {
        // The last state the watcher was shown, at the change's resourceVersion, as kube sends it.
        const previous = change.before!.object;
        const metadata = {
          ...previous.metadata,
          resourceVersion: change.entry.object.metadata?.resourceVersion,
        };
        watcher.send(encodeEvent("DELETED", { ...previous, metadata }, options));
        return;
      }
    } else if (!now) {
      return;
    }
  }
  if (options.render) {
    const line = encodeEvent(type, change.entry.object, options);
    watcher.send(corrupt ? corrupt(line) : line);
    return;
  }
  const cacheKey = `${type}|${options.apiVersion}`;
  let line = event.lines.get(cacheKey);
  if (!line) {
    const json = change.entry.object.apiVersion === options.apiVersion
      ? change.entry.json
      : JSON.stringify({ ...change.entry.object, apiVersion: options.apiVersion });
    line = encoder.encode(`{"type":"${type}","object":${json}}\n`);
    event.lines.set(cacheKey, line);
  }
  watcher.send(corrupt ? corrupt(line) : line);
}

function encodeEvent(type: ChangeType, object: KubeObject, options: WatchOptions): Uint8Array {
  const served = object.apiVersion === options.apiVersion
    ? object
    : { ...object, apiVersion: options.apiVersion };
  const payload = options.render ? options.render(served) : served;
  return encoder.encode(JSON.stringify({ type, object: payload }) + "\n");
}
