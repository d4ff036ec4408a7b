// The dev API server: HTTP(S) listener, authentication, faults, counters and dispatch to handlers.
import { log } from "../../lib/log.ts";
import { createCertificateAuthority } from "../../lib/pki/mod.ts";
import { parseIpAddress } from "../../lib/ip.ts";
import { Authenticator } from "../auth/auth.ts";
import { answerReview, isReview } from "../auth/reviews.ts";
import { ValidatingAdmission } from "../admission/validating_admission.ts";
import { type AuthorizationMode, Authorizer } from "../auth/authorization.ts";
import { ApiCore } from "../storage/core.ts";
import { type Counters, RequestCounters } from "./counters.ts";
import { handleDev } from "./dev_endpoints.ts";
import { FaultInjector, type Faults } from "./faults.ts";
import { handleResource, type HandlerSettings } from "./handlers.ts";
import { buildKubeconfig, type Kubeconfig, writeKubeconfigFile } from "../auth/kubeconfig.ts";
import { handleNonResource, HEALTH_PATHS } from "./nonresource.ts";
import { routeResource } from "./router.ts";
import { ApiError, forbidden, statusResponse } from "./status.ts";
import { serveTls } from "./tls_listener.ts";
import { WatchDroppedError } from "../storage/watch.ts";
import type { Identity } from "../types.ts";

/** How to start a dev API server. */
export interface DevApiServerOptions {
  /** Default "127.0.0.1". */
  hostname?: string;
  /** Default 0 = a free port. */
  port?: number;
  /** HTTPS with a generated CA written into the kubeconfig. */
  tls?: boolean;
  /** Non-empty: every Kubernetes API request needs `Authorization: Bearer <one of them>`. */
  tokens?: string[];
  /** With tls: client certificates signed by the dev CA authenticate (the kubeconfig gets one). */
  clientCertificates?: boolean;
  /** Watch events kept for resume; older resourceVersions get 410 Expired (default 10_000). */
  historyLimit?: number;
  /** BOOKMARK period on watches with allowWatchBookmarks (default 60_000). */
  bookmarkIntervalMs?: number;
  /** Resume from a too-old version answers plain HTTP 410 (reason Gone) instead of 200 + ERROR. */
  expiredAsHttp410?: boolean;
  /** Serve streaming lists (sendInitialEvents=true); false rejects them like a server with WatchList off. */
  watchList?: boolean;
  /** `RBAC`: service-account identities are held to the RBAC objects in the server (default `AlwaysAllow`). */
  authorization?: AuthorizationMode;
  /** Bearer tokens of service accounts: token -> `namespace/name` (identity `system:serviceaccount:…`). */
  serviceAccountTokens?: Record<string, string>;
}

/** A running dev API server. */
export interface DevApiServer extends AsyncDisposable {
  /** e.g. http://127.0.0.1:43125 */
  readonly url: string;
  /** The CA certificate (PEM) with tls. */
  readonly caPem?: string;
  /** A kubectl-compatible kubeconfig (cluster, user and context "dev"). */
  readonly kubeconfig: Kubeconfig;
  /** Writes the kubeconfig to a file. */
  writeKubeconfig(path: string): Promise<void>;
  readonly faults: Faults;
  readonly counters: Counters;
  /** Replaces the accepted bearer tokens at run time. */
  setTokens(tokens: string[]): void;
  /** The `verb group/resource` permissions RBAC granted to `username` so far (RBAC mode). */
  usedPermissions(username: string): Set<string>;
  /** Closes listeners and open watches; idempotent. */
  close(): Promise<void>;
}

function isResourcePath(parts: string[]): boolean {
  return (parts[0] === "api" && parts.length >= 3) || (parts[0] === "apis" && parts.length >= 4);
}

function errorResponse(error: unknown): Response {
  if (error instanceof ApiError) return statusResponse(error);
  log("apiserver").error("internal error: {error}", {
    error: String((error as Error)?.stack ?? error),
  });
  return statusResponse(
    new ApiError(500, "InternalError", `Internal error occurred: ${String(error)}`),
  );
}

/**
 * Who may use `/_dev/`: anyone when the server requires no credentials, else only an admin
 * (the `--token` bearer token or an admin client certificate): 401 without credentials, 403 for
 * other identities.
 */
function devAccess(identity: Identity | undefined): void {
  if (!identity) throw new ApiError(401, "Unauthorized", "Unauthorized");
  if (!identity.groups.includes("system:masters")) {
    throw forbidden(undefined, `User "${identity.username}" cannot use the dev endpoints`);
  }
}

function isIpAddress(text: string): boolean {
  try {
    parseIpAddress(text);
    return true;
  } catch {
    return false;
  }
}

/** Starts an in-memory Kubernetes API server. */
export async function startDevApiServer(options: DevApiServerOptions = {}): Promise<DevApiServer> {
  const hostname = options.hostname ?? "127.0.0.1";
  const core = new ApiCore({ historyLimit: options.historyLimit ?? 10_000 });
  const auth = new Authenticator({
    tokens: options.tokens,
    serviceAccountTokens: options.serviceAccountTokens,
    clientCertificates: options.tls === true && options.clientCertificates === true,
  });
  const authorizer = new Authorizer(core.store, options.authorization ?? "AlwaysAllow");
  const admission = new ValidatingAdmission(core.store, core.registry);
  const counters = new RequestCounters();
  const faults = new FaultInjector({
    drop: () => core.hub.dropAll(),
    stall: (stalled) => core.hub.setStalled(stalled),
    compact: () => core.hub.compact(),
    corrupt: (rule) => core.hub.corrupt(rule),
  });
  const settings: HandlerSettings = {
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
    expiredAsHttp410: options.expiredAsHttp410 ?? false,
    watchList: options.watchList ?? true,
  };
  let serverAddress = hostname;
  // Ends injected latency when the server closes (cleanup on the return path, not request.signal).
  const closing = new AbortController();

  const handle = async (request: Request, certificate?: Identity): Promise<Response> => {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path.startsWith("/_dev/")) {
      try {
        devAccess(auth.authenticate(request, certificate));
      } catch (error) {
        if (request.body && !request.bodyUsed) await request.body.cancel().catch(() => {});
        return errorResponse(error);
      }
      return await handleDev(request, path, { faults, counters });
    }
    let verb = "get";
    let label = path;
    let response: Response;
    try {
      const identity = auth.authenticate(request, certificate);
      if (!identity && !HEALTH_PATHS.includes(path)) {
        throw new ApiError(401, "Unauthorized", "Unauthorized");
      }
      const parts = path.split("/").filter((p) => p.length > 0);
      if (identity && isResourcePath(parts)) {
        const route = routeResource(path, request.method, {
          params: url.searchParams,
          registry: core.registry,
        });
        verb = route.verb;
        label = route.label;
        authorizer.check(identity, {
          verb,
          apiGroup: route.info.group,
          resource: route.info.resource,
          subresource: route.subresource,
          namespace: route.namespace || undefined,
          name: route.name,
        });
        const target = { verb, resource: label, namespace: route.namespace || undefined };
        await faults.delay(target, closing.signal);
        const fault = faults.take(target);
        if (fault) throw fault;
        response = isReview(route.info)
          ? await answerReview(request, route.info, { authenticator: auth, authorizer })
          : faults.trickled(
            target,
            await handleResource(request, route, {
              core,
              settings,
              identity,
              admit: (write, warnings) => admission.validate(write, { identity, warnings }),
            }),
          );
      } else {
        if (identity) {
          authorizer.check(identity, {
            verb: request.method.toLowerCase(),
            apiGroup: "",
            resource: "",
            nonResourcePath: path,
          });
        }
        response = handleNonResource(request, parts, { registry: core.registry, serverAddress });
      }
    } catch (error) {
      if (request.body && !request.bodyUsed) await request.body.cancel().catch(() => {});
      response = errorResponse(error);
    }
    counters.record(verb, label, response.status);
    return response;
  };

  let url: string;
  let caPem: string | undefined;
  let clientCertPem: string | undefined;
  let clientKeyPem: string | undefined;
  let stop: () => Promise<void>;
  if (options.tls) {
    const ca = await createCertificateAuthority({ commonName: "kleff-dev-ca" });
    const hostIsIp = isIpAddress(hostname);
    const ipAddresses = [...new Set(["127.0.0.1", "::1", ...(hostIsIp ? [hostname] : [])])];
    const dnsNames = [...new Set(["localhost", ...(hostIsIp ? [] : [hostname])])];
    const serverCert = await ca.issue({
      commonName: "kleff-dev-apiserver",
      dnsNames,
      ipAddresses,
      usage: "server",
    });
    caPem = ca.certPem;
    if (options.clientCertificates) {
      const client = await ca.issue({
        commonName: "dev-admin",
        organizations: ["system:masters"],
        usage: "client",
      });
      clientCertPem = client.certPem;
      clientKeyPem = client.keyPem;
    }
    const listener = await serveTls(
      (request, peer) =>
        handle(
          request,
          peer
            ? { username: peer.commonName, groups: [...peer.organizations, "system:authenticated"] }
            : undefined,
        ),
      {
        hostname,
        port: options.port ?? 0,
        certPem: serverCert.certPem,
        keyPem: serverCert.keyPem,
        clientCaPem: options.clientCertificates ? ca.certPem : undefined,
      },
    );
    url = `https://${hostname.includes(":") ? `[${hostname}]` : hostname}:${listener.port}`;
    serverAddress = `${hostname}:${listener.port}`;
    stop = () => listener.shutdown();
  } else {
    const server = Deno.serve(
      {
        hostname,
        port: options.port ?? 0,
        onListen: () => {},
        onError: (error) => {
          if (!(error instanceof WatchDroppedError)) {
            log("apiserver").error("response failed: {error}", { error: String(error) });
          }
          return new Response(null, { status: 500 });
        },
      },
      (request) => handle(request),
    );
    const addr = server.addr as Deno.NetAddr;
    url = `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${addr.port}`;
    serverAddress = `${hostname}:${addr.port}`;
    stop = () => server.shutdown();
  }
  const kubeconfig = buildKubeconfig({
    url,
    caPem,
    token: options.tokens?.[0],
    clientCertPem,
    clientKeyPem,
  });
  let stopping: Promise<void> | undefined;
  const close = (): Promise<void> => {
    stopping ??= (async () => {
      closing.abort();
      core.hub.finishAll();
      await stop();
    })();
    return stopping;
  };
  return {
    url,
    caPem,
    kubeconfig,
    writeKubeconfig: (path: string) => writeKubeconfigFile(path, kubeconfig),
    faults,
    counters,
    setTokens: (tokens: string[]) => auth.setTokens(tokens),
    usedPermissions: (username: string) => authorizer.usedPermissions(username),
    close,
    [Symbol.asyncDispose]: close,
  };
}
