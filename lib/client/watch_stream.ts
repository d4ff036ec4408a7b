// Turns a watch response body (one JSON event per line) into typed watch events with web streams.
import { readChunks } from "./chunks.ts";
import { WatchStreamError } from "./errors.ts";
import type { KubeObject, KubeObjectBase, Status } from "./types.ts";

/** One event exactly as the server sent it, BOOKMARK and ERROR included. */
export type WatchStreamEvent<T extends KubeObjectBase = KubeObject> =
  | { type: "ADDED" | "MODIFIED" | "DELETED"; object: T }
  | { type: "BOOKMARK"; object: KubeObject }
  | { type: "ERROR"; object: Status };

/** Options of {@linkcode parseWatchStream}. */
export interface WatchStreamOptions {
  /** Longest accepted line in bytes (default 12 MiB); a longer one fails the stream. */
  maxLineBytes?: number;
  /** Called as each chunk of bytes arrives, before it is parsed (a watch's liveness). */
  onBytes?: () => void;
  /** Aborts the parsing (and cancels the body). */
  signal?: AbortSignal;
}

/**
 * The default cap on one watch event line: 12 MiB. etcd stores objects of up to 1.5 MiB, and
 * kube-apiserver's JSON writes `<`, `>`, `&` and control characters as six bytes each (`\u003c`),
 * so an object of the largest size made of those is a line of about 9 MiB: no object a real
 * server stores is longer.
 */
export const DEFAULT_MAX_LINE_BYTES = 12 * 1024 * 1024;

const EVENT_TYPES = new Set(["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]);

/**
 * Parses a watch body into events. A line that is not a watch event, or is longer than
 * `maxLineBytes`, errors the returned stream with a {@linkcode WatchStreamError}
 * (its message never quotes the line) and cancels the body; so does cancelling the returned stream.
 */
export function parseWatchStream<T extends KubeObjectBase = KubeObject>(
  body: ReadableStream<Uint8Array>,
  options: WatchStreamOptions = {},
): ReadableStream<WatchStreamEvent<T>> {
  // Cancelling the events ends a read still waiting for bytes at once.
  const cancelled = new AbortController();
  const signal = options.signal
    ? AbortSignal.any([options.signal, cancelled.signal])
    : cancelled.signal;
  const chunks = readChunks(body, signal);
  const lines = new EventLines<T>(options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
  return new ReadableStream<WatchStreamEvent<T>>({
    async pull(controller) {
      const enqueue = (event: WatchStreamEvent<T>) => controller.enqueue(event);
      try {
        // One pull ends with at least one event, or the end of the body.
        for (;;) {
          const next = await chunks.next();
          if (next.done) {
            lines.flush(enqueue);
            controller.close();
            return;
          }
          options.onBytes?.();
          if (lines.push(next.value, enqueue) > 0) return;
        }
      } catch (error) {
        await chunks.return(undefined);
        throw error;
      }
    },
    async cancel(reason) {
      cancelled.abort(reason);
      await chunks.return(undefined);
    },
  }, { highWaterMark: 0 });
}

/** Splits chunks of a watch body into lines and parses each into an event. */
class EventLines<T extends KubeObjectBase> {
  readonly #maxLineBytes: number;
  readonly #decoder = new TextDecoder();
  /** The start of a line whose end has not come yet. */
  #pending = "";
  #pendingBytes = 0;
  #lineNumber = 0;

  constructor(maxLineBytes: number) {
    this.#maxLineBytes = maxLineBytes;
  }

  /** Takes one chunk (decoded at once: it may be overwritten afterwards); returns the events. */
  push(chunk: Uint8Array, enqueue: (event: WatchStreamEvent<T>) => void): number {
    const lastNewline = chunk.lastIndexOf(10);
    if (lastNewline === -1) {
      this.#pendingBytes += chunk.length;
      if (this.#pendingBytes > this.#maxLineBytes) {
        throw this.#oversize(this.#lineNumber + 1, this.#pending);
      }
      this.#pending += this.#decoder.decode(chunk, { stream: true });
      return 0;
    }
    const text = this.#pending + this.#decoder.decode(chunk, { stream: true });
    const lines = text.split("\n");
    this.#pending = lines.pop()!;
    this.#pendingBytes = chunk.length - lastNewline - 1;
    let events = 0;
    for (const line of lines) events += this.#emit(line, enqueue);
    if (this.#pendingBytes > this.#maxLineBytes) {
      throw this.#oversize(this.#lineNumber + 1, this.#pending);
    }
    return events;
  }

  /** The body ended: parses a last line without a newline. */
  flush(enqueue: (event: WatchStreamEvent<T>) => void): void {
    const rest = this.#pending + this.#decoder.decode();
    if (rest.trim() !== "") this.#emit(rest, enqueue);
  }

  #emit(line: string, enqueue: (event: WatchStreamEvent<T>) => void): number {
    this.#lineNumber++;
    if (line.length > this.#maxLineBytes) throw this.#oversize(this.#lineNumber, line);
    if (line.trim() === "") return 0;
    enqueue(parseEvent<T>(line, this.#lineNumber));
    return 1;
  }

  #oversize(number: number, head: string): WatchStreamError {
    return new WatchStreamError(
      `watch event line ${number} is longer than ${this.#maxLineBytes} bytes`,
      { reason: "oversize", object: nameObject(head) },
    );
  }
}

function parseEvent<T extends KubeObjectBase>(
  line: string,
  lineNumber: number,
): WatchStreamEvent<T> {
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    throw new WatchStreamError(
      `watch event line ${lineNumber} is not JSON (${line.length} bytes)`,
      { object: nameObject(line) },
    );
  }
  if (typeof event !== "object" || event === null || Array.isArray(event)) {
    throw new WatchStreamError(`watch event line ${lineNumber} is not a JSON object`);
  }
  const { type, object } = event as { type?: unknown; object?: unknown };
  if (typeof type !== "string" || !EVENT_TYPES.has(type)) {
    throw new WatchStreamError(
      `watch event line ${lineNumber} has an unknown type ${
        JSON.stringify(String(type)).slice(0, 40)
      }`,
    );
  }
  if (typeof object !== "object" || object === null || Array.isArray(object)) {
    throw new WatchStreamError(`watch event line ${lineNumber} (${type}) has no object`);
  }
  return { type, object } as WatchStreamEvent<T>;
}

/** How far into a line the object's kind and name are looked for. */
const NAME_SEARCH_CHARS = 4096;

/**
 * `Kind namespace/name` of the object a broken or oversized line is about, read from its first
 * bytes (servers write `kind` and `metadata.name` first), or undefined. Only characters a
 * Kubernetes name or kind may hold are kept, so a hostile line cannot forge log text.
 */
export function nameObject(line: string): string | undefined {
  const head = line.slice(0, NAME_SEARCH_CHARS);
  const field = (key: string) =>
    new RegExp(`"${key}"\\s*:\\s*"([A-Za-z0-9.-]{1,253})"`).exec(head)?.[1];
  const metadata = head.indexOf('"metadata"');
  if (metadata < 0) return undefined;
  const inMetadata = (key: string) =>
    new RegExp(`"${key}"\\s*:\\s*"([a-z0-9.-]{1,253})"`).exec(head.slice(metadata))?.[1];
  const name = inMetadata("name");
  if (name === undefined) return undefined;
  const namespace = inMetadata("namespace");
  const kind = field("kind");
  return `${kind ? `${kind} ` : ""}${namespace ? `${namespace}/` : ""}${name}`;
}
