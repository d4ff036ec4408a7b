// A recording HTTP proxy in front of the dev API server, one per operator
// process, so that every write can be attributed to the process that sent it
// (the single-active-replica invariant) without trusting the operator's logs;
// it can also trickle that process's answers (a slow server for it alone).
import { trickle as trickleBody } from "../../dev_apiserver/mod.ts";

/** One write request seen by a proxy. */
export interface RecordedWrite {
  /** The process that sent it (a replica's id, e.g. `r0g2`). */
  replica: string;
  /** When the proxy received it (ms since the epoch). */
  at: number;
  /** HTTP method. */
  method: string;
  /** Request path (no query). */
  path: string;
  /** Response status, 0 when the upstream call failed. */
  status: number;
}

/** A running proxy. */
export interface RecordingProxy {
  /** Base URL to give the operator instead of the API server's. */
  readonly url: string;
  /** Sends answers' bodies at about `bytesPerSecond` (`undefined`: at full speed). */
  trickle(bytesPerSecond: number | undefined): void;
  /** Stops listening and aborts the requests still open (watches). */
  close(): Promise<void>;
}

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const DROPPED_HEADERS = ["content-encoding", "content-length", "transfer-encoding", "connection"];

/** Starts a proxy to `upstream` whose writes are passed to `record` tagged with `replica`. */
export function startRecordingProxy(
  upstream: string,
  replica: string,
  record: (write: RecordedWrite) => void,
): RecordingProxy {
  const closing = new AbortController();
  let trickle: number | undefined;
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
    signal: closing.signal,
  }, async (request) => {
    const url = new URL(request.url);
    const write = READ_METHODS.has(request.method)
      ? undefined
      : { replica, at: Date.now(), method: request.method, path: url.pathname, status: 0 };
    const headers = new Headers(request.headers);
    headers.set("accept-encoding", "identity");
    headers.delete("host");
    try {
      const body = request.body ? await request.arrayBuffer() : undefined;
      const response = await fetch(upstream + url.pathname + url.search, {
        method: request.method,
        headers,
        body,
        // A client that goes away cancels the streamed body, which ends the upstream fetch.
        signal: closing.signal,
      });
      if (write) record({ ...write, status: response.status });
      const out = new Headers(response.headers);
      for (const name of DROPPED_HEADERS) out.delete(name);
      const answer = trickle && response.body ? trickleBody(response.body, trickle) : response.body;
      return new Response(answer, { status: response.status, headers: out });
    } catch (error) {
      if (write) record(write);
      return new Response(`proxy: ${error instanceof Error ? error.message : error}`, {
        status: 502,
      });
    }
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    trickle: (bytesPerSecond) => trickle = bytesPerSecond,
    close: async () => {
      closing.abort();
      await server.finished.catch(() => {});
    },
  };
}
