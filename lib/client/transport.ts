// Sends HTTP requests with the TLS setup a kubeconfig asks for: fetch with Deno.createHttpClient, or node:https where fetch cannot.
import * as https from "node:https";
import { Readable } from "node:stream";

/** TLS settings of one connection. */
export interface TransportOptions {
  /** PEM CA bundle trusted in addition to the system roots. */
  caPem?: string;
  /** Do not verify the server certificate at all. */
  insecureSkipTlsVerify?: boolean;
  /** Verify the server certificate against this name instead of the URL's host. */
  tlsServerName?: string;
  /** PEM client certificate. */
  clientCertPem?: string;
  /** PEM client key. */
  clientKeyPem?: string;
}

/** The body and headers of one request as the transport sends them. */
export interface TransportRequest {
  /** HTTP method. */
  method: string;
  /** Request headers. */
  headers: Record<string, string>;
  /** Serialized body, if any. */
  body?: string;
  /** Aborts the request and the response body. */
  signal?: AbortSignal;
}

/**
 * Something that turns requests into responses over one TLS setup and its own connection pool.
 * A request aborted before its body was read never gives its connection back to the pool; the
 * requester replaces a whole transport after a timeout (see `request.ts`), since Deno's HTTP client
 * has no TCP keep-alive or HTTP/2 ping setting that would find a dead pooled connection.
 */
export interface Transport extends Disposable {
  /** Sends one request; network failures reject (the caller maps them to ConnectionError). */
  send(url: URL, request: TransportRequest): Promise<Response>;
  /** Releases pooled connections; responses still being received (watches) run to their end. */
  close(): void;
}

/**
 * Creates the transport for a TLS setup. Deno's fetch covers CAs and client certificates;
 * `insecure-skip-tls-verify` and `tls-server-name` have no fetch option in Deno 2, so those
 * go through node:https (`rejectUnauthorized: false`, `servername`).
 */
export function createTransport(options: TransportOptions = {}): Transport {
  if (options.insecureSkipTlsVerify || options.tlsServerName) return new NodeTransport(options);
  return new FetchTransport(options);
}

class FetchTransport implements Transport {
  #client?: Deno.HttpClient;

  constructor(options: TransportOptions) {
    const tls: Deno.CreateHttpClientOptions & Partial<Deno.TlsCertifiedKeyPem> = {};
    if (options.caPem) tls.caCerts = [options.caPem];
    if (options.clientCertPem && options.clientKeyPem) {
      tls.cert = options.clientCertPem;
      tls.key = options.clientKeyPem;
    }
    this.#client = Deno.createHttpClient(tls as Deno.CreateHttpClientOptions);
  }

  send(url: URL, request: TransportRequest): Promise<Response> {
    return fetch(url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: request.signal,
      client: this.#client,
    });
  }

  close(): void {
    this.#client?.close();
    this.#client = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

class NodeTransport implements Transport {
  #agent: https.Agent;
  /** Plain-HTTP URLs (no TLS settings apply): a pool of their own, closed with this one. */
  #plain?: FetchTransport;

  constructor(options: TransportOptions) {
    this.#agent = new https.Agent({
      keepAlive: true,
      ca: options.caPem,
      cert: options.clientCertPem,
      key: options.clientKeyPem,
      servername: options.tlsServerName,
      rejectUnauthorized: !options.insecureSkipTlsVerify,
    });
  }

  send(url: URL, request: TransportRequest): Promise<Response> {
    if (url.protocol !== "https:") {
      this.#plain ??= new FetchTransport({});
      return this.#plain.send(url, request);
    }
    return new Promise((resolve, reject) => {
      const signal = request.signal;
      if (signal?.aborted) return reject(signal.reason);
      let response: { destroy(error?: Error): void } | undefined;
      const req = https.request(url, {
        method: request.method,
        headers: request.headers,
        agent: this.#agent,
      }, (res) => {
        response = res;
        // Once the body is done the socket may serve another request: a late abort must not reach it.
        res.on("close", () => signal?.removeEventListener("abort", onAbort));
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) {
            headers.set(name, Array.isArray(value) ? value.join(", ") : value);
          }
        }
        const status = res.statusCode ?? 502;
        const nullBody = status === 204 || status === 304 || request.method === "HEAD";
        if (nullBody) res.resume();
        const body = nullBody ? null : Readable.toWeb(res) as ReadableStream<Uint8Array>;
        resolve(new Response(body, { status, statusText: res.statusMessage, headers }));
      });
      // The abort is handled here rather than through https.request's `signal` option, which does
      // not settle a request still waiting for its response headers: the socket is destroyed (never
      // returned to the pool) and the promise rejects at once, also on a connection that froze.
      const onAbort = () => {
        const reason = signal!.reason;
        const error = reason instanceof Error ? reason : new Error(String(reason));
        response?.destroy(error);
        req.destroy(error);
        reject(reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      req.on("close", () => {
        if (response === undefined) signal?.removeEventListener("abort", onAbort);
      });
      req.on("error", reject);
      req.end(request.body);
    });
  }

  close(): void {
    // Not agent.destroy(), which would cut open watch streams: idle sockets go now, busy ones
    // when their response ends (an agent keeping no free sockets destroys a socket once free).
    this.#agent.maxFreeSockets = 0;
    for (const sockets of Object.values(this.#agent.freeSockets)) {
      for (const socket of sockets ?? []) socket.destroy();
    }
    this.#plain?.close();
    this.#plain = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
