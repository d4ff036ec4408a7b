// The single request function: credentials, bounded concurrency, retries of safe requests, typed errors, AbortSignal.
import { log } from "../log.ts";
import { Backoff, type BackoffPolicy, sleep } from "../backoff.ts";
import {
  CredentialProvider,
  type CredentialProviderOptions,
  type Credentials,
} from "./credentials.ts";
import {
  ApiError,
  apiErrorFromResponse,
  ConnectionError,
  ServerError,
  TooManyRequestsError,
  UnauthorizedError,
} from "./errors.ts";
import type { ConnectionConfig } from "./kubeconfig.ts";
import { createTransport, type Transport } from "./transport.ts";
import { Counter, type Registry } from "../metrics/registry.ts";

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
  /** Retry on 429, 5xx and connection errors (default: only for GET, HEAD and OPTIONS). */
  retry?: boolean;
}

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
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const logger = log("client");

/** Sends requests to one API server. */
export class Requester implements Disposable {
  /** The server's base URL. */
  readonly server: string;
  #config: ConnectionConfig;
  #credentials: CredentialProvider;
  #transports = new Map<string, Transport>();
  #options: Required<Omit<RequesterOptions, "credentials" | "metrics">>;
  #requests?: Counter;
  #host: string;
  #inFlight = 0;
  #waiting: (() => void)[] = [];

  /** Creates a requester; nothing is sent until the first request. */
  constructor(config: ConnectionConfig, options: RequesterOptions = {}) {
    this.server = config.server;
    this.#config = config;
    this.#credentials = new CredentialProvider(config.auth, options.credentials);
    this.#host = new URL(config.server).host;
    this.#requests = options.metrics?.register(
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
    };
  }

  /** Sends a request and parses the JSON answer; HTTP errors become typed {@linkcode ApiError}s. */
  async request<T>(options: RequestOptions): Promise<T> {
    await this.#acquire(options.signal);
    try {
      const response = await this.#send(options);
      const text = await response.text();
      if (!text) return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new ServerError({
          kind: "Status",
          code: response.status,
          reason: "InternalError",
          message: `${describe(options)}: the answer is not JSON`,
        });
      }
    } finally {
      this.#release();
    }
  }

  /** Sends a request and returns the response body as a stream, after checking the HTTP status. */
  async stream(options: RequestOptions): Promise<ReadableStream<Uint8Array>> {
    const response = await this.#send(options);
    return response.body ?? new ReadableStream({ start: (controller) => controller.close() });
  }

  /** Sends with credentials and retries; returns a 2xx response or throws. */
  async #send(options: RequestOptions): Promise<Response> {
    const method = (options.method ?? "GET").toUpperCase();
    const retry = options.retry ?? SAFE_METHODS.has(method);
    const backoff = new Backoff(this.#options.backoff);
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
      let error: ApiError | ConnectionError;
      try {
        const response = await this.#transport(credentials).send(url, {
          method,
          headers,
          body,
          signal: options.signal,
        });
        this.#count(String(response.status), method);
        if (response.ok) return response;
        error = await apiErrorFromResponse(response, describe(options));
      } catch (cause) {
        if (options.signal?.aborted) throw options.signal.reason;
        this.#count("<error>", method);
        error = new ConnectionError(
          `${describe(options)}: cannot reach ${this.server} (${networkMessage(cause)})`,
          {
            cause,
          },
        );
      }
      if (error instanceof UnauthorizedError && !refreshed && this.#credentials.refreshable) {
        refreshed = true;
        this.#credentials.invalidate();
        logger.info("401 from {path}: refreshing credentials and retrying", { path: options.path });
        continue;
      }
      const retryable = error instanceof ConnectionError || error instanceof TooManyRequestsError ||
        (error instanceof ServerError && error.code !== 501);
      if (!retry || !retryable || attempt >= this.#options.maxRetries) throw error;
      let delay = backoff.next();
      if (error instanceof TooManyRequestsError && error.retryAfterSeconds) {
        delay = Math.min(error.retryAfterSeconds, this.#options.maxRetryAfterSeconds) * 1000;
      }
      logger.debug("{method} {path} failed ({reason}); retry {attempt} in {delay} ms", {
        method,
        path: options.path,
        reason: error instanceof ApiError ? error.code : "connection",
        attempt: attempt + 1,
        delay: Math.round(delay),
      });
      await sleep(delay, options.signal);
    }
  }

  #count(code: string, method: string): void {
    this.#requests?.inc({ code, method, host: this.#host });
  }

  #url(options: RequestOptions): URL {
    const url = new URL(this.server + options.path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url;
  }

  #transport(credentials: Credentials): Transport {
    const certPem = credentials.clientCertPem ?? this.#config.clientCertPem;
    const keyPem = credentials.clientKeyPem ?? this.#config.clientKeyPem;
    const key = `${certPem ?? ""}\n${keyPem ?? ""}`;
    let transport = this.#transports.get(key);
    if (!transport) {
      transport = createTransport({
        caPem: this.#config.caPem,
        insecureSkipTlsVerify: this.#config.insecureSkipTlsVerify,
        tlsServerName: this.#config.tlsServerName,
        clientCertPem: certPem,
        clientKeyPem: keyPem,
      });
      this.#transports.set(key, transport);
    }
    return transport;
  }

  async #acquire(signal?: AbortSignal): Promise<void> {
    if (this.#inFlight < this.#options.maxInFlight) {
      this.#inFlight++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        this.#waiting = this.#waiting.filter((waiter) => waiter !== grant);
        reject(signal!.reason);
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(grant);
    });
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#inFlight--;
  }

  /** Closes every pooled connection. */
  close(): void {
    for (const transport of this.#transports.values()) transport.close();
    this.#transports.clear();
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
