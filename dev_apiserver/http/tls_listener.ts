// HTTPS for the dev API server with optional client-certificate authentication.
// Deno.serve does not expose peer certificates, so this serves through node:https, whose
// TLS layer in Deno verifies a client certificate against a CA and reports the result.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { createServer } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { log } from "../../lib/log.ts";

/** The identity in a client certificate that verified against the client CA. */
export interface PeerIdentity {
  /** Subject CN: the Kubernetes user name. */
  commonName: string;
  /** Subject O values: the Kubernetes groups. */
  organizations: string[];
}

/** Options of {@linkcode serveTls}. */
export interface TlsListenerOptions {
  /** Address to bind, e.g. "127.0.0.1". */
  hostname: string;
  /** Port to bind; 0 picks a free port (see {@linkcode TlsListener.port}). */
  port: number;
  /** Server certificate (PEM, may include intermediates). */
  certPem: string;
  /** Server private key (PEM). */
  keyPem: string;
  /** CA whose client certificates authenticate; without it no client certificate is requested. */
  clientCaPem?: string;
  /** Aborting it shuts the listener down. */
  signal?: AbortSignal;
}

/** A running HTTPS listener. */
export interface TlsListener {
  /** The bound port. */
  readonly port: number;
  /** Settles once the listener and all its connections are closed. */
  readonly finished: Promise<void>;
  /** Closes the listener and every connection, including open streaming responses. */
  shutdown(): Promise<void>;
}

/** Handles one request; `peer` is set when a client certificate verified against the client CA. */
export type TlsHandler = (
  request: Request,
  peer: PeerIdentity | undefined,
) => Response | Promise<Response>;

/** Thrown when the listener cannot bind its address or load its certificate. */
export class TlsListenerError extends Error {
  /** Builds the error from the failed address and its cause. */
  constructor(address: string, cause: unknown) {
    super(`cannot serve HTTPS on ${address}: ${cause instanceof Error ? cause.message : cause}`, {
      cause,
    });
    this.name = "TlsListenerError";
  }
}

/**
 * Serves HTTPS with `handler`. Request and response bodies stream in both directions;
 * the request's signal aborts when the client disconnects or the listener shuts down.
 */
export async function serveTls(
  handler: TlsHandler,
  options: TlsListenerOptions,
): Promise<TlsListener> {
  const host = options.hostname.includes(":") ? `[${options.hostname}]` : options.hostname;
  const address = `${host}:${options.port}`;
  const clientAuth = options.clientCaPem === undefined
    ? {}
    : { ca: options.clientCaPem, requestCert: true, rejectUnauthorized: false };
  checkCredentials(options, address);
  const server = createServer({ cert: options.certPem, key: options.keyPem, ...clientAuth });
  const identities = new WeakMap<TLSSocket, PeerIdentity | undefined>();
  const peerOf = (socket: TLSSocket) => {
    if (options.clientCaPem === undefined) return undefined;
    if (!identities.has(socket)) identities.set(socket, peerIdentity(socket));
    return identities.get(socket);
  };
  server.on("request", (incoming: IncomingMessage, outgoing: ServerResponse) => {
    const peer = peerOf(incoming.socket as TLSSocket);
    respond(handler, { incoming, outgoing, peer, origin: `https://${host}:${port}` }).catch(
      (error) => {
        log("apiserver").error("cannot answer {method} {url}: {error}", {
          method: incoming.method,
          url: incoming.url,
          error: String(error),
        });
        outgoing.destroy();
      },
    );
  });
  server.on("tlsClientError", (error: Error) => {
    log("apiserver").debug("TLS handshake failed: {message}", { message: error.message });
  });

  await new Promise<void>((resolve, reject) => {
    const failed = (error: Error) => reject(new TlsListenerError(address, error));
    server.once("error", failed);
    server.listen(options.port, options.hostname, () => {
      server.off("error", failed);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === "object" && bound !== null ? bound.port : options.port;
  server.on("error", (error: Error) => {
    log("apiserver").error("HTTPS listener error: {message}", { message: error.message });
  });

  const finished = new Promise<void>((resolve) => server.once("close", () => resolve()));
  let closing = false;
  const shutdown = (): Promise<void> => {
    if (!closing) {
      closing = true;
      options.signal?.removeEventListener("abort", onAbort);
      server.close();
      server.closeAllConnections();
    }
    return finished;
  };
  const onAbort = () => void shutdown();
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });

  return { port, finished, shutdown };
}

/** Fails early on PEM that Deno's TLS would only reject at the first handshake. */
function checkCredentials(options: TlsListenerOptions, address: string): void {
  const parse = <T>(what: string, fn: () => T): T => {
    try {
      return fn();
    } catch (error) {
      throw new TlsListenerError(
        address,
        `${what}: ${error instanceof Error ? error.message : error}`,
      );
    }
  };
  const cert = parse("certPem", () => new X509Certificate(options.certPem));
  const key = parse("keyPem", () => createPrivateKey(options.keyPem));
  if (!cert.checkPrivateKey(key)) {
    throw new TlsListenerError(address, "keyPem does not belong to the certificate in certPem");
  }
  if (options.clientCaPem !== undefined) {
    parse("clientCaPem", () => new X509Certificate(options.clientCaPem ?? ""));
  }
}

/** Identity of a verified client certificate; like Kubernetes, a certificate without CN is none. */
function peerIdentity(socket: TLSSocket): PeerIdentity | undefined {
  if (!socket.authorized) return undefined;
  // Deno, like Node, gives a repeated attribute (several O) as an array.
  const subject: { CN?: string | string[]; O?: string | string[] } =
    socket.getPeerCertificate()?.subject ?? {};
  const commonName = [subject.CN ?? []].flat().at(-1);
  if (!commonName) return undefined;
  return { commonName, organizations: [subject.O ?? []].flat() };
}

interface Exchange {
  incoming: IncomingMessage;
  outgoing: ServerResponse;
  peer: PeerIdentity | undefined;
  origin: string;
}

async function respond(handler: TlsHandler, exchange: Exchange): Promise<void> {
  const { incoming, outgoing } = exchange;
  const controller = new AbortController();
  const gone = new Promise<void>((resolve) =>
    outgoing.once("close", () => {
      if (!outgoing.writableFinished) controller.abort();
      resolve();
    })
  );
  let response: Response;
  try {
    const request = toRequest(incoming, exchange.origin, controller.signal);
    try {
      response = await handler(request, exchange.peer);
    } catch (error) {
      log("apiserver").error("handler failed for {method} {url}: {error}", {
        method: incoming.method,
        url: incoming.url,
        error: String(error),
      });
      response = new Response("internal server error\n", { status: 500 });
    }
  } catch (error) {
    response = new Response(`bad request: ${error instanceof Error ? error.message : error}\n`, {
      status: 400,
    });
  }
  await writeResponse(response, { ...exchange, gone });
}

function toRequest(incoming: IncomingMessage, origin: string, signal: AbortSignal): Request {
  const headers = new Headers();
  const raw = incoming.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
  const host = headers.get("host");
  const base = host && URL.canParse(`https://${host}`) ? `https://${host}` : origin;
  const target = incoming.url ?? "/";
  const url = new URL(target.startsWith("/") ? base + target : target);
  const method = incoming.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD" &&
    (headers.has("transfer-encoding") || Number(headers.get("content-length") ?? 0) > 0);
  return new Request(url, {
    method,
    headers,
    signal,
    body: hasBody ? ReadableStream.from(bodyChunks(incoming)) : null,
  });
}

async function* bodyChunks(incoming: IncomingMessage): AsyncGenerator<Uint8Array> {
  for await (const chunk of incoming) yield chunk as Uint8Array;
}

/** Writes `response`; `gone` settles when the connection closes (finished or dropped). */
async function writeResponse(
  response: Response,
  exchange: Exchange & { gone: Promise<void> },
): Promise<void> {
  const { incoming, outgoing, gone } = exchange;
  for (const [name, value] of response.headers) {
    if (name !== "set-cookie") outgoing.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) outgoing.setHeader("set-cookie", cookies);
  outgoing.writeHead(response.status, response.statusText || undefined);
  if (!response.body || incoming.method === "HEAD") {
    await response.body?.cancel();
    outgoing.end();
    return;
  }
  const reader = response.body.getReader();
  const closed = gone.then(() => undefined);
  try {
    while (true) {
      const chunk = await Promise.race([reader.read(), closed]);
      if (!chunk) return void await reader.cancel();
      if (chunk.done) break;
      if (!outgoing.write(chunk.value)) {
        await Promise.race([new Promise((resolve) => outgoing.once("drain", resolve)), closed]);
      }
    }
    outgoing.end();
  } catch (error) {
    log("apiserver").debug("response body of {method} {url} failed: {error}", {
      method: incoming.method,
      url: incoming.url,
      error: String(error),
    });
    outgoing.destroy();
  }
}
