// The single request function: credentials, bounded concurrency, a deadline per attempt (after which
// the connection pool is replaced), size-limited bodies, retries of safe requests, typed errors.
import { Deadline } from "../deadline.ts";
import { log } from "../log.ts";
import { backoffDelay, type BackoffPolicy, sleep } from "../backoff.ts";
import {
  CredentialProvider,
  type CredentialProviderOptions,
  type Credentials,
} from "./credentials.ts";
import {
  ApiError,
  apiErrorFromResponse,
  ConnectionError,
  RequestTimeoutError,
  ServerError,
  TooManyRequestsError,
  UnauthorizedError,
} from "./errors.ts";
import { DEFAULT_MAX_RESPONSE_BYTES, MAX_ERROR_BODY_BYTES, readBodyText } from "./body.ts";
import type { ConnectionConfig } from "./connection.ts";
import { redactUrl } from "./connection.ts";
import { isLoopbackHost } from "../ip.ts";
import { InFlightLimit } from "./in_flight.ts";
import { createTransport, type Transport, type TransportRequest } from "./transport.ts";
import { Counter, Registry } from "../metrics/mod.ts";

/** One call of the Kubernetes API. */
export interface RequestOptions {
  /** HTTP method (default GET). */
  method?: string;
  /** Path below the server URL, e.g. `/api/v1/namespaces`. */
  path: string;
  /** Query parameters; `undefined` values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  /** Body, sent as JSON. */
  body?: unknown;
  /** Content type of the body (default `application/json`). */
  contentType?: string;
  /** `Accept` header (default `application/json`). */
  accept?: string;
  /** Aborts the request (and a streamed body). */
  signal?: AbortSignal;
  /** Retry on 429, 5xx, connection errors and timeouts (default: only for GET, HEAD and OPTIONS). */
  retry?: boolean;
}

/** The default request timeout (`--request-timeout`): 30 s, as kubectl's and client-go's. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** Tuning of a {@linkcode Requester}; the defaults suit production. */
export interface RequesterOptions {
  /** Requests in flight at most (streams not counted; default 32). */
  maxInFlight?: number;
  /** `User-Agent` header (default `kleff-tenant-operator`). */
  userAgent?: string;
  /** Retries after the first attempt (default 5). */
  maxRetries?: number;
  /** Backoff between retries (default 200 ms up to 10 s). */
  backoff?: BackoffPolicy;
  /** Longest `Retry-After` honoured, in seconds (default 60). */
  maxRetryAfterSeconds?: number;
  /** Credential caching and plugin options. */
  credentials?: CredentialProviderOptions;
  /** Registry receiving client-go's `rest_client_requests_total{code,method,host}`. */
  metrics?: Registry;
  /**
   * Longest time one attempt may take, from sending to the last byte of its answer (for streams,
   * to the response headers); then it is aborted with a {@linkcode RequestTimeoutError} and the
   * connection pool is replaced (default 30 s).
   */
  timeoutMs?: number;
  /** Largest response body read (default {@linkcode DEFAULT_MAX_RESPONSE_BYTES}). */
  maxResponseBytes?: number;
}

/** A parsed JSON answer and the size of its body. */
export interface MeasuredAnswer<T> {
  /** The parsed body (`undefined` for an empty one). */
  value: T;
  /** The body's size in bytes. */
  bytes: number;
}

/** What one attempt gave: the read answer, or the error that may be retried. */
type Outcome<R> = { value: R } | { error: ApiError | ConnectionError };

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const logger = log("client");

/** Sends requests to one API server. */
export class Requester implements Disposable {
  /** The server's base URL. */
  readonly server: string;
  #config: ConnectionConfig;
  #credentials: CredentialProvider;
  /** The transport for the client certificate in use, and the certificate it was built for. */
  #transport?: { transport: Transport; certPem?: string; keyPem?: string };
  #options: Required<Omit<RequesterOptions, "credentials" | "metrics">>;
  #requests: Counter;
  #host: string;
  #slots: InFlightLimit;

  /** Creates a requester; nothing is sent until the first request. */
  constructor(config: ConnectionConfig, options: RequesterOptions = {}) {
    const url = new URL(config.server);
    if (url.username || url.password) {
      throw new TypeError(
        `the server address ${
          redactUrl(config.server)
        } carries credentials: give them as the connection's auth`,
      );
    }
    if (url.protocol === "http:" && !isLoopbackHost(url.hostname) && config.auth.kind !== "none") {
      logger.warning(
        "{server}: {credential} will be sent over plain http, readable by anyone on the network path; use https",
        {
          server: config.server,
          credential: config.auth.kind === "basic" ? "a password" : "a bearer token",
        },
      );
    }
    this.server = config.server;
    this.#config = config;
    this.#credentials = new CredentialProvider(config.auth, options.credentials);
    this.#host = url.host;
    this.#requests = (options.metrics ?? new Registry()).register(
      new Counter(
        "rest_client_requests_total",
        "Number of HTTP requests, partitioned by status code, method, and host.",
      ),
    );
    this.#options = {
      maxInFlight: options.maxInFlight ?? 32,
      userAgent: options.userAgent ?? "kleff-tenant-operator",
      maxRetries: options.maxRetries ?? 5,
      backoff: options.backoff ?? { initialMs: 200, maxMs: 10_000 },
      maxRetryAfterSeconds: options.maxRetryAfterSeconds ?? 60,
      timeoutMs: options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    };
    this.#slots = new InFlightLimit(this.#options.maxInFlight);
  }

  /** Sends a request and parses the JSON answer; HTTP errors become typed {@linkcode ApiError}s. */
  async request<T>(options: RequestOptions): Promise<T> {
    return (await this.requestMeasured<T>(options)).value;
  }

  /**
   * {@linkcode request}, also telling the size of the answer (paged lists bound their total).
   * An answer over the response limit throws a `ResponseLimitError`.
   */
  requestMeasured<T>(options: RequestOptions): Promise<MeasuredAnswer<T>> {
    return this.#send(options, true, async (response) => {
      const { text, bytes } = await readBodyText(response, {
        maxBytes: this.#options.maxResponseBytes,
        context: describe(options),
      });
      if (!text) return { value: undefined as T, bytes };
      try {
        return { value: JSON.parse(text) as T, bytes };
      } catch {
        throw new ServerError({
          kind: "Status",
          code: response.status,
          reason: "InternalError",
          message: `${describe(options)}: the answer is not JSON`,
        });
      }
    });
  }

  /** Sends a request and returns the response body as a stream, after checking the HTTP status. */
  stream(options: RequestOptions): Promise<ReadableStream<Uint8Array>> {
    return this.#send(
      options,
      false,
      (response) =>
        Promise.resolve(
          response.body ?? new ReadableStream({ start: (controller) => controller.close() }),
        ),
    );
  }

  /**
   * Sends with credentials and retries, and hands a 2xx response to `read`; throws typed errors.
   * With `limited` (a whole answer, not a stream), each attempt holds an in-flight slot from
   * sending until its body is read, never while waiting to retry, so a throttled burst cannot
   * starve other requests of slots; and its deadline covers the body, not only the headers.
   */
  async #send<R>(
    options: RequestOptions,
    limited: boolean,
    read: (response: Response) => Promise<R>,
  ): Promise<R> {
    const method = (options.method ?? "GET").toUpperCase();
    const retry = options.retry ?? SAFE_METHODS.has(method);
    const url = this.#url(options);
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    let refreshed = false;
    for (let attempt = 0;; attempt++) {
      const credentials = await this.#credentials.get();
      const headers: Record<string, string> = {
        accept: options.accept ?? "application/json",
        "user-agent": this.#options.userAgent,
      };
      if (body !== undefined) headers["content-type"] = options.contentType ?? "application/json";
      if (credentials.authorization) headers.authorization = credentials.authorization;
      if (limited) await this.#slots.acquire(options.signal);
      let outcome: Outcome<R>;
      try {
        outcome = await this.#attempt({
          url,
          request: { method, headers, body, signal: options.signal },
          credentials,
          context: describe(options),
          whole: limited,
        }, read);
      } finally {
        if (limited) this.#slots.release();
      }
      if ("value" in outcome) return outcome.value;
      const { error } = outcome;
      if (error instanceof UnauthorizedError && !refreshed && this.#credentials.refreshable) {
        refreshed = true;
        this.#credentials.invalidate();
        logger.info("401 from {path}: refreshing credentials and retrying", { path: options.path });
        continue;
      }
      const retryable = error instanceof ConnectionError || error instanceof TooManyRequestsError ||
        (error instanceof ServerError && error.code !== 501);
      if (!retry || !retryable || attempt >= this.#options.maxRetries) throw error;
      // The credential refresh above is an attempt but not a backed-off retry.
      let delay = backoffDelay(this.#options.backoff, refreshed ? attempt - 1 : attempt);
      if (error instanceof TooManyRequestsError && error.retryAfterSeconds) {
        delay = Math.min(error.retryAfterSeconds, this.#options.maxRetryAfterSeconds) * 1000;
      }
      logger.debug("{method} {path} failed ({reason}); retry {attempt} in {delay} ms", {
        method,
        path: options.path,
        reason: error instanceof ApiError
          ? error.code
          : error instanceof RequestTimeoutError
          ? "timeout"
          : "connection",
        attempt: attempt + 1,
        delay: Math.round(delay),
      });
      await sleep(delay, options.signal);
    }
  }

  /**
   * One send and, for a 2xx answer, its `read`; an error answer, a network failure or the
   * deadline passing is returned. The deadline covers the whole answer when `whole`, else (a
   * stream) the response headers. A timed-out or failed attempt retires its transport: its
   * connection may be dead but open (a frozen peer), and a pool would hand it out again.
   */
  async #attempt<R>(
    attempt: {
      url: URL;
      request: TransportRequest;
      credentials: Credentials;
      context: string;
      whole: boolean;
    },
    read: (response: Response) => Promise<R>,
  ): Promise<Outcome<R>> {
    const { url, request, credentials, context, whole } = attempt;
    const caller = request.signal;
    const timeoutMs = this.#options.timeoutMs;
    // A whole answer is linked to the caller by the deadline itself; a stream outlives this call
    // (and the deadline), so it follows both signals.
    using deadline = new Deadline(whole ? caller : undefined, {
      ms: timeoutMs,
      reason: () => new RequestTimeoutError(context, timeoutMs),
    });
    const signal = caller && !whole ? AbortSignal.any([caller, deadline.signal]) : deadline.signal;
    const transport = this.#transportFor(credentials);
    const timedOut = (): Outcome<R> | undefined => {
      if (caller?.aborted || !deadline.expired) return undefined;
      this.#retire(transport);
      this.#count("<timeout>", request.method);
      return { error: deadline.signal.reason };
    };
    let response: Response;
    try {
      response = await transport.send(url, { ...request, signal });
    } catch (cause) {
      if (caller?.aborted) throw caller.reason;
      const timeout = timedOut();
      if (timeout) return timeout;
      this.#retire(transport);
      this.#count("<error>", request.method);
      return {
        error: new ConnectionError(
          `${context}: cannot reach ${this.server} (${networkMessage(cause)})`,
          { cause },
        ),
      };
    }
    this.#count(String(response.status), request.method);
    if (response.ok && !whole) {
      deadline[Symbol.dispose]();
      return { value: await read(response) };
    }
    try {
      if (response.ok) return { value: await read(response) };
      const { text } = await readBodyText(response, {
        maxBytes: MAX_ERROR_BODY_BYTES,
        context,
        truncate: true,
      });
      const answer = new Response(text, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
      return { error: await apiErrorFromResponse(answer, context) };
    } catch (error) {
      if (caller?.aborted) throw caller.reason;
      const timeout = timedOut();
      if (timeout) return timeout;
      if (error instanceof TypeError || error instanceof DOMException) {
        this.#retire(transport);
        return {
          error: new ConnectionError(
            `${context}: the connection broke while reading the answer (${networkMessage(error)})`,
            { cause: error },
          ),
        };
      }
      throw error;
    }
  }

  #count(code: string, method: string): void {
    this.#requests.inc({ code, method, host: this.#host });
  }

  #url(options: RequestOptions): URL {
    const url = new URL(this.server + options.path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url;
  }

  /**
   * The transport for the client certificate in use. When an exec plugin rotates it, the old
   * transport is closed, which only drops its idle connections: responses still streaming over
   * it (watches) run to their end.
   */
  #transportFor(credentials: Credentials): Transport {
    const certPem = credentials.clientCertPem ?? this.#config.clientCertPem;
    const keyPem = credentials.clientKeyPem ?? this.#config.clientKeyPem;
    const current = this.#transport;
    if (current && current.certPem === certPem && current.keyPem === keyPem) {
      return current.transport;
    }
    current?.transport.close();
    const transport = createTransport({
      caPem: this.#config.caPem,
      insecureSkipTlsVerify: this.#config.insecureSkipTlsVerify,
      tlsServerName: this.#config.tlsServerName,
      clientCertPem: certPem,
      clientKeyPem: keyPem,
    });
    this.#transport = { transport, certPem, keyPem };
    return transport;
  }

  /**
   * Closes `transport`'s pool if it is still the current one, so that the next request opens a
   * fresh connection; requests still running on it keep their connections until they end.
   */
  #retire(transport: Transport): void {
    if (this.#transport?.transport !== transport) return;
    logger.debug("discarding the connection pool to {server}", { server: this.server });
    transport.close();
    this.#transport = undefined;
  }

  /**
   * Replaces the connection pool: the next request opens a fresh connection. Watches call it
   * when a connection went silent, since the pool may hold more connections to the same dead
   * peer.
   */
  discardConnections(): void {
    if (this.#transport) this.#retire(this.#transport.transport);
  }

  /** Closes pooled connections (responses still streaming run to their end). */
  close(): void {
    this.#transport?.transport.close();
    this.#transport = undefined;
  }

  /** Same as {@linkcode close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function describe(options: RequestOptions): string {
  return `${(options.method ?? "GET").toUpperCase()} ${options.path}`;
}

function networkMessage(cause: unknown): string {
  let error = cause;
  while (error instanceof Error && error.cause instanceof Error) error = error.cause;
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s+at .*$/s, "").slice(0, 300);
}
