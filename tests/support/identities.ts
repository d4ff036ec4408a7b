// The identities attackers have in end-to-end tests: a client with any service-account token the
// dev API server knows, a tenant admin (admin rights in its own namespace only), and a proxy that
// logs which requests a client (the operator) sent, to count the reconciles of each tenant.
import { connect, type KubeClient } from "../../lib/client/mod.ts";
import type { OperatorEnv } from "./operator_env.ts";

/**
 * A client of `env`'s server authenticating with `token` (a token given in
 * `serviceAccountTokens`), talking to `server` (default: the server itself).
 */
export async function connectAs(
  env: OperatorEnv,
  token: string,
  options: { server?: string } = {},
): Promise<KubeClient> {
  const kubeconfig = structuredClone(env.server.kubeconfig);
  kubeconfig.users[0].user = { token };
  if (options.server) kubeconfig.clusters[0].cluster.server = options.server;
  const path = await Deno.makeTempFile({ prefix: "kleff-identity-", suffix: ".kubeconfig" });
  try {
    await Deno.writeTextFile(path, JSON.stringify(kubeconfig));
    return await connect({ kubeconfig: path });
  } finally {
    await Deno.remove(path);
  }
}

/** The ClusterRole tenant admins are bound to in their namespace. */
export const TENANT_ADMIN_ROLE = "tenant-admin";

/**
 * Binds service account `account` (`namespace/name`) to {@linkcode TENANT_ADMIN_ROLE} in
 * `namespace`: every verb on the namespaced kinds the operator guards (quotas, limits, network
 * policies, Istio objects) and on ConfigMaps, in that namespace only. That is more than
 * Kubernetes' built-in `admin` role (which may only read quotas and limits): the strongest
 * tenant admin a platform might create.
 */
export async function grantTenantAdmin(
  env: OperatorEnv,
  namespace: string,
  account: string,
): Promise<void> {
  const [accountNamespace, name] = account.split("/");
  const rbac = "/apis/rbac.authorization.k8s.io/v1";
  try {
    await env.client.request({
      method: "POST",
      path: `${rbac}/clusterroles`,
      body: {
        metadata: { name: TENANT_ADMIN_ROLE },
        rules: [
          {
            apiGroups: ["", "networking.k8s.io", "networking.istio.io", "security.istio.io"],
            resources: [
              "resourcequotas",
              "limitranges",
              "configmaps",
              "networkpolicies",
              "gateways",
              "authorizationpolicies",
              "peerauthentications",
              "sidecars",
            ],
            verbs: ["get", "list", "watch", "create", "update", "patch", "delete"],
          },
        ],
      },
    });
  } catch (error) {
    if (!(error instanceof Error && /already exists/.test(error.message))) throw error;
  }
  await env.client.request({
    method: "POST",
    path: `${rbac}/namespaces/${namespace}/rolebindings`,
    body: {
      metadata: { name: `${TENANT_ADMIN_ROLE}-${name}` },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: TENANT_ADMIN_ROLE,
      },
      subjects: [{ kind: "ServiceAccount", namespace: accountNamespace, name }],
    },
  });
}

/** A request a {@linkcode RequestLog} forwarded. */
export interface LoggedRequest {
  /** HTTP method. */
  method: string;
  /** Path, without the query. */
  path: string;
  /** Whether it was a watch (`?watch=true`). */
  watch: boolean;
}

/** A proxy in front of `env`'s server that logs every request it forwards. */
export class RequestLog implements AsyncDisposable {
  readonly requests: LoggedRequest[] = [];
  readonly #closing = new AbortController();
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  /** Starts the proxy to `upstream`. */
  constructor(upstream: string) {
    const closing = this.#closing;
    this.#server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
      signal: closing.signal,
    }, async (request) => {
      const url = new URL(request.url);
      this.requests.push({
        method: request.method,
        path: url.pathname,
        watch: url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1",
      });
      const headers = new Headers(request.headers);
      headers.set("accept-encoding", "identity");
      headers.delete("host");
      const body = request.body ? await request.arrayBuffer() : undefined;
      try {
        const response = await fetch(upstream + url.pathname + url.search, {
          method: request.method,
          headers,
          body,
          signal: closing.signal,
        });
        const out = new Headers(response.headers);
        for (const name of ["content-encoding", "content-length", "transfer-encoding"]) {
          out.delete(name);
        }
        return new Response(response.body, { status: response.status, headers: out });
      } catch (error) {
        return new Response(`proxy: ${error}`, { status: 502 });
      }
    });
  }

  /** The proxy's URL. */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /**
   * Reconciles of Tenant `name` so far: each reconcile starts with exactly one GET of the
   * Tenant (watches use the collection path).
   */
  reconciles(name: string): number {
    const path = `/apis/kleff.kleff.io/v1/tenants/${name}`;
    return this.requests.filter((request) => request.method === "GET" && request.path === path)
      .length;
  }

  /** Stops the proxy and the requests still open through it (watches). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#closing.abort();
    await this.#server.finished.catch(() => {});
  }
}
