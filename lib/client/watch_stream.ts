// Turns a watch response body (one JSON event per line) into typed watch events with web streams.
import { WatchStreamError } from "./errors.ts";
import type { KubeObject, KubeObjectBase, Status } from "./types.ts";

/** One event exactly as the server sent it, BOOKMARK and ERROR included. */
export type WatchStreamEvent<T extends KubeObjectBase = KubeObject> =
  | { type: "ADDED" | "MODIFIED" | "DELETED"; object: T }
  | { type: "BOOKMARK"; object: KubeObject }
  | { type: "ERROR"; object: Status };

/** Options of {@linkcode parseWatchStream}. */
export interface WatchStreamOptions {
  /** Longest accepted line in bytes (default 4 MiB); a longer one fails the stream. */
  maxLineBytes?: number;
}

/** The default cap on one watch event line: 4 MiB (etcd stores objects of up to 1.5 MiB). */
export const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;

const EVENT_TYPES = new Set(["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]);

/**
 * Parses a watch body into events. A line that is not a watch event, or is longer than
 * `maxLineBytes`, errors the returned stream with a {@linkcode WatchStreamError}
 * (its message never quotes the line); cancelling the returned stream cancels the body.
 */
export function parseWatchStream<T extends KubeObjectBase = KubeObject>(
  body: ReadableStream<Uint8Array>,
  options: WatchStreamOptions = {},
): ReadableStream<WatchStreamEvent<T>> {
  return body.pipeThrough(watchEventTransform<T>(options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES));
}

function watchEventTransform<T extends KubeObjectBase>(
  maxLineBytes: number,
): TransformStream<Uint8Array, WatchStreamEvent<T>> {
  const decoder = new TextDecoder();
  let pending = "";
  let pendingBytes = 0;
  let lineNumber = 0;
  const emit = (
    line: string,
    controller: TransformStreamDefaultController<WatchStreamEvent<T>>,
  ) => {
    lineNumber++;
    if (line.length > maxLineBytes) {
      throw new WatchStreamError(
        `watch event line ${lineNumber} is longer than ${maxLineBytes} bytes`,
      );
    }
    if (line.trim() === "") return;
    controller.enqueue(parseEvent<T>(line, lineNumber));
  };
  return new TransformStream({
    transform(chunk, controller) {
      const lastNewline = chunk.lastIndexOf(10);
      if (lastNewline === -1) {
        pendingBytes += chunk.length;
        if (pendingBytes > maxLineBytes) {
          throw new WatchStreamError(
            `watch event line ${lineNumber + 1} is longer than ${maxLineBytes} bytes`,
          );
        }
        pending += decoder.decode(chunk, { stream: true });
        return;
      }
      const text = pending + decoder.decode(chunk, { stream: true });
      const lines = text.split("\n");
      pending = lines.pop()!;
      pendingBytes = chunk.length - lastNewline - 1;
      for (const line of lines) emit(line, controller);
      if (pendingBytes > maxLineBytes) {
        throw new WatchStreamError(
          `watch event line ${lineNumber + 1} is longer than ${maxLineBytes} bytes`,
        );
      }
    },
    flush(controller) {
      const rest = pending + decoder.decode();
      if (rest.trim() !== "") emit(rest, controller);
    },
  });
}

function parseEvent<T extends KubeObjectBase>(
  line: string,
  lineNumber: number,
): WatchStreamEvent<T> {
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    throw new WatchStreamError(`watch event line ${lineNumber} is not JSON (${line.length} bytes)`);
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
