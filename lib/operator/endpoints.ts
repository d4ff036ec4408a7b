// The operator's own HTTP endpoints: /healthz and /readyz for kubelet probes
// and /metrics for Prometheus, on the bind addresses controller-runtime uses.

/** A readiness verdict with the reason shown when not ready. */
export interface Readiness {
  /** True when the operator can do its work. */
  ready: boolean;
  /** Why not (or a short summary when ready). */
  detail: string;
}

/** Thrown when a bind address flag cannot be parsed. */
export class BindAddressError extends Error {
  /** Builds the error naming the flag and value. */
  constructor(flag: string, value: string) {
    super(
      `${flag}: invalid bind address "${value}" (examples: ":8080", "127.0.0.1:8081", "0" to disable)`,
    );
    this.name = "BindAddressError";
  }
}

/** A parsed bind address; `undefined` means disabled. */
export interface BindAddress {
  /** Interface to listen on. */
  hostname: string;
  /** TCP port (0 = any free port). */
  port: number;
}

/** Parses `host:port`, `:port` or `0` (disabled) as controller-runtime does. */
export function parseBindAddress(value: string, flag: string): BindAddress | undefined {
  if (value === "0") return undefined;
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]*):(\d{1,5})$/.exec(value);
  if (!match || Number(match[2]) > 65535) throw new BindAddressError(flag, value);
  const host = match[1].replace(/^\[|\]$/g, "");
  return { hostname: host === "" ? "0.0.0.0" : host, port: Number(match[2]) };
}

/** What the endpoint server answers. */
export interface EndpointHandlers {
  /** Liveness: the process is not wedged. */
  healthz?: () => Readiness;
  /** Readiness: watches synced and alive. */
  readyz?: () => Readiness;
  /** Prometheus text exposition. */
  metrics?: () => string;
}

/** A running endpoint server. */
export interface EndpointServer extends AsyncDisposable {
  /** The port actually bound. */
  readonly port: number;
  /** Stops listening. */
  close(): Promise<void>;
}

/** Serves the given handlers on `address` until closed. */
export function serveEndpoints(address: BindAddress, handlers: EndpointHandlers): EndpointServer {
  const probe = (check: () => Readiness) => {
    const { ready, detail } = check();
    return new Response(ready ? `ok\n` : `not ready: ${detail}\n`, {
      status: ready ? 200 : 503,
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  };
  const server = Deno.serve({
    hostname: address.hostname,
    port: address.port,
    onListen: () => {},
  }, (request) => {
    const { pathname } = new URL(request.url);
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405 });
    }
    if ((pathname === "/healthz" || pathname === "/livez") && handlers.healthz) {
      return probe(handlers.healthz);
    }
    if (pathname === "/readyz" && handlers.readyz) return probe(handlers.readyz);
    if (pathname === "/metrics" && handlers.metrics) {
      return new Response(handlers.metrics(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    }
    return new Response("not found\n", { status: 404 });
  });
  const close = async () => {
    await server.shutdown();
  };
  return { port: server.addr.port, close, [Symbol.asyncDispose]: close };
}
