// The two API servers a conformance scenario runs against, behind one raw HTTP interface: a
// fresh dev API server (RBAC mode, bearer tokens) or the real lane's shared cluster restored to
// its baseline (client certificate, TokenRequest tokens). Raw on purpose: status codes, headers
// and bodies come back as the server sent them.
import type { CustomResourceDefinition } from "kubernetes-types/apiextensions/v1.d.ts";
import { type DevApiServer, startDevApiServer } from "../../dev_apiserver/mod.ts";
import type { RealCluster } from "../support/real_cluster.ts";
import { readDeployYaml } from "../support/deploy_fixture.ts";

/** One answer: status, headers and the body (parsed JSON, else text). */
export interface ApiResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/** One watch event as it came. */
export interface WatchEvent {
  type: string;
  object: Record<string, unknown>;
}

/** What a watch gave until it ended or was cut. */
export interface WatchResult {
  status: number;
  /** The events, or for a refused watch nothing (see `body`). */
  events: WatchEvent[];
  /** The body of a watch refused with an error status. */
  body?: unknown;
  /** Whether the server ended the stream (rather than the client cutting it). */
  ended: boolean;
}

/** Options of {@linkcode ConformanceApi.request}. */
export interface RequestOptions {
  query?: Record<string, string>;
  /** A value (sent as JSON) or a string sent as is. */
  body?: unknown;
  contentType?: string;
  accept?: string;
  /** A bearer token instead of the admin's credentials. */
  token?: string;
}

/** Options of {@linkcode ConformanceApi.watch}. */
export interface WatchOptions {
  query?: Record<string, string>;
  accept?: string;
  /** Stop reading once this holds (default: read until the server ends the stream). */
  until?: (events: WatchEvent[]) => boolean;
  /** Cut the stream after this long (default 10 s). */
  timeoutMs?: number;
}

/** A server a scenario talks to. */
export interface ConformanceApi {
  /** Which server this is. */
  readonly kind: "dev" | "real";
  /** Sends one request. */
  request(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>;
  /** Watches `path`; `during` runs once the server has answered, while events are read. */
  watch(path: string, options: WatchOptions, during?: () => Promise<void>): Promise<WatchResult>;
  /** A bearer token of service account `namespace/name` (which the scenario created). */
  serviceAccountToken(namespace: string, name: string): Promise<string>;
  /** Creates a CRD and returns once its kind is served. */
  installCrd(crd: CustomResourceDefinition): Promise<void>;
  /** Compacts the server's history up to now. */
  compact(): Promise<void>;
  /** Releases the server. */
  close(): Promise<void>;
}

/** Accounts the dev API server is started with tokens for: `namespace/name`. */
export const SERVICE_ACCOUNTS: readonly string[] = ["conformance-rbac/reader"];

const devToken = (account: string) => `token-${account.replace("/", "-")}`;

class HttpApi {
  readonly #base: string;
  readonly #admin: Deno.HttpClient;
  readonly #anyone: Deno.HttpClient;
  readonly #auth: Record<string, string>;

  /**
   * Requests go out as the admin (`admin` client, `auth` headers), or with a token over
   * `anyone`, a client without the admin's certificate (which would win over the token).
   */
  constructor(
    base: string,
    clients: { admin: Deno.HttpClient; anyone: Deno.HttpClient },
    auth: Record<string, string>,
  ) {
    this.#base = base;
    this.#admin = clients.admin;
    this.#anyone = clients.anyone;
    this.#auth = auth;
  }

  #client(token?: string): Deno.HttpClient {
    return token ? this.#anyone : this.#admin;
  }

  #url(path: string, query?: Record<string, string>): string {
    const url = new URL(path, this.#base);
    for (const [key, value] of Object.entries(query ?? {})) url.searchParams.set(key, value);
    return url.href;
  }

  #headers(options: { token?: string; accept?: string; contentType?: string }) {
    const headers: Record<string, string> = {
      accept: options.accept ?? "application/json",
      ...(options.token ? { authorization: `Bearer ${options.token}` } : this.#auth),
    };
    if (options.contentType) headers["content-type"] = options.contentType;
    return headers;
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const body = options.body === undefined
      ? undefined
      : typeof options.body === "string"
      ? options.body
      : JSON.stringify(options.body);
    const response = await fetch(this.#url(path, options.query), {
      method,
      headers: this.#headers({
        ...options,
        contentType: options.contentType ??
          (body === undefined
            ? undefined
            : method === "PATCH"
            ? "application/merge-patch+json"
            : "application/json"),
      }),
      body,
      client: this.#client(options.token),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: parse(await response.text()),
    };
  }

  async watch(
    path: string,
    options: WatchOptions,
    during?: () => Promise<void>,
  ): Promise<WatchResult> {
    const cut = new AbortController();
    const timer = setTimeout(() => cut.abort(), options.timeoutMs ?? 10_000);
    try {
      const response = await fetch(this.#url(path, { watch: "true", ...options.query }), {
        headers: this.#headers(options),
        client: this.#client(),
        signal: cut.signal,
      });
      if (response.status !== 200) {
        return {
          status: response.status,
          events: [],
          body: parse(await response.text()),
          ended: true,
        };
      }
      const events: WatchEvent[] = [];
      const reading = (async () => {
        let buffer = "";
        try {
          for await (const chunk of response.body!.pipeThrough(new TextDecoderStream())) {
            buffer += chunk;
            let newline;
            while ((newline = buffer.indexOf("\n")) >= 0) {
              const line = buffer.slice(0, newline).trim();
              buffer = buffer.slice(newline + 1);
              if (line) events.push(JSON.parse(line));
              if (options.until?.(events)) {
                cut.abort();
                return false;
              }
            }
          }
          return true;
        } catch (error) {
          if (cut.signal.aborted) return false;
          throw error;
        }
      })();
      await during?.();
      const ended = await reading;
      return { status: 200, events, ended };
    } finally {
      clearTimeout(timer);
    }
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A fresh dev API server for one scenario. */
export async function devApi(): Promise<ConformanceApi> {
  const server: DevApiServer = await startDevApiServer({
    tokens: ["admin-token"],
    authorization: "RBAC",
    serviceAccountTokens: Object.fromEntries(SERVICE_ACCOUNTS.map((a) => [devToken(a), a])),
  });
  const client = Deno.createHttpClient({});
  const http = new HttpApi(server.url, { admin: client, anyone: client }, {
    authorization: "Bearer admin-token",
  });
  return {
    kind: "dev",
    request: (method, path, options) => http.request(method, path, options),
    watch: (path, options, during) => http.watch(path, options, during),
    serviceAccountToken: (namespace, name) => Promise.resolve(devToken(`${namespace}/${name}`)),
    async installCrd(crd) {
      const response = await http.request(
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        { body: crd },
      );
      if (response.status !== 201) throw new Error(`CRD: ${JSON.stringify(response.body)}`);
    },
    compact: () => Promise.resolve(server.faults.compact()),
    async close() {
      client.close();
      await server.close();
    },
  };
}

/** The real lane's shared cluster, restored to its baseline for one scenario. */
export async function realApi(cluster: RealCluster): Promise<ConformanceApi> {
  await cluster.prepare(await readDeployYaml("crd.yaml"));
  const kube = cluster.kube;
  const user = kube.handle.adminKubeconfig.users[0].user;
  const decode = (text?: string) => new TextDecoder().decode(Uint8Array.fromBase64(text ?? ""));
  const client = Deno.createHttpClient({
    caCerts: [kube.handle.caPem],
    cert: decode(user["client-certificate-data"]),
    key: decode(user["client-key-data"]),
  });
  const anyone = Deno.createHttpClient({ caCerts: [kube.handle.caPem] });
  const http = new HttpApi(kube.url, { admin: client, anyone }, {});
  return {
    kind: "real",
    request: (method, path, options) => http.request(method, path, options),
    watch: (path, options, during) => http.watch(path, options, during),
    serviceAccountToken: (namespace, name) => kube.serviceAccountToken(namespace, name),
    installCrd: (crd) => cluster.installCrd(crd),
    compact: () => kube.compact(),
    close() {
      client.close();
      anyone.close();
      return Promise.resolve();
    },
  };
}
