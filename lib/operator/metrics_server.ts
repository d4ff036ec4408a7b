// The /metrics listener, as controller-runtime serves it: by default HTTPS where every scrape is
// authenticated (TokenReview) and authorized (SubjectAccessReview of `get /metrics`), with the
// certificate of --metrics-cert-path (re-read when it is renewed) or else a self-signed one; or,
// with --metrics-secure=false, plain HTTP for a sidecar on localhost (warned about elsewhere).
import { createPrivateKey, X509Certificate } from "node:crypto";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createSelfSignedServingCertificate } from "../pki/mod.ts";
import { isLoopbackHost } from "../ip.ts";
import { log } from "../log.ts";
import { type BindAddress, type EndpointServer, serveEndpoints } from "./endpoints.ts";
import { MetricsAuth, type MetricsAuthOptions, type Reviewer } from "./metrics_auth.ts";

/** Where the serving certificate and key are (`--metrics-cert-path/-name/-key`). */
export interface CertificateFiles {
  /** The folder. */
  dir: string;
  /** The certificate file name in it (PEM, leaf first). */
  certName: string;
  /** The private key file name in it (PEM). */
  keyName: string;
}

/** How to serve /metrics. */
export interface MetricsServingOptions {
  /** The listen address. */
  address: BindAddress;
  /** HTTPS with authentication and authorization (else plain HTTP, no checks). */
  secure: boolean;
  /** The certificate (secure only); absent = a self-signed one made at start. */
  certificate?: CertificateFiles;
  /** The Prometheus text exposition. */
  metrics: () => string;
  /** Sends the TokenReviews and SubjectAccessReviews (secure only). */
  reviewer: Reviewer;
  /** Cache lifetimes of the reviews. */
  auth?: MetricsAuthOptions;
  /** How often the certificate files are re-read (default 10 s). */
  reloadIntervalMs?: number;
}

/** A running /metrics listener. */
export interface MetricsServer extends EndpointServer {
  /** Whether it serves HTTPS with authentication. */
  readonly secure: boolean;
  /** The CA of the self-signed certificate, when it made one (for clients that verify it). */
  readonly caPem?: string;
}

/** The metrics listener could not start: a certificate that cannot be read, an address in use. */
export class MetricsServingError extends Error {
  /** Builds the error naming what failed. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MetricsServingError";
  }
}

const logger = log("operator");

function displayAddress(hostname: string, port: number): string {
  return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

/** Starts the /metrics listener `options` describe and logs where it serves. */
export async function serveMetrics(options: MetricsServingOptions): Promise<MetricsServer> {
  const { address } = options;
  if (!options.secure) {
    let server: EndpointServer;
    try {
      server = serveEndpoints(address, { metrics: options.metrics });
    } catch (error) {
      throw new MetricsServingError(
        `cannot serve metrics on ${displayAddress(address.hostname, address.port)}: ${
          messageOf(error)
        }`,
        { cause: error },
      );
    }
    const where = displayAddress(address.hostname, server.port);
    logger.info("serving metrics on {address}", { address: where, secure: false });
    if (!isLoopbackHost(address.hostname)) {
      logger.warning(
        "/metrics on {address} is plain HTTP without authentication: anyone who can reach it reads it; use --metrics-secure, or bind it to 127.0.0.1 for a sidecar",
        { address: where },
      );
    }
    return { ...server, secure: false };
  }
  return await serveSecure(options);
}

async function readCertificate(files: CertificateFiles): Promise<{ cert: string; key: string }> {
  const read = async (name: string, block: RegExp) => {
    const path = `${files.dir.replace(/\/+$/, "")}/${name}`;
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      throw new MetricsServingError(`cannot read ${path}: ${messageOf(error)}`, { cause: error });
    }
    if (!block.test(text)) throw new MetricsServingError(`${path} holds no PEM ${block.source}`);
    return text;
  };
  const cert = await read(files.certName, /-----BEGIN CERTIFICATE-----/);
  const key = await read(files.keyName, /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  const where = `${files.dir.replace(/\/+$/, "")}/${files.certName}`;
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (error) {
    throw new MetricsServingError(`${where}: not a valid certificate (${messageOf(error)})`);
  }
  let matches: boolean;
  try {
    matches = leaf.checkPrivateKey(createPrivateKey(key));
  } catch (error) {
    throw new MetricsServingError(
      `${files.dir.replace(/\/+$/, "")}/${files.keyName}: not a valid private key (${
        messageOf(error)
      })`,
    );
  }
  if (!matches) {
    throw new MetricsServingError(`${where}: the key does not belong to the certificate`);
  }
  if (Date.parse(leaf.validTo) < Date.now()) {
    throw new MetricsServingError(`${where}: expired on ${leaf.validTo}`);
  }
  return { cert, key };
}

async function serveSecure(options: MetricsServingOptions): Promise<MetricsServer> {
  const { address } = options;
  let credentials: { cert: string; key: string };
  let caPem: string | undefined;
  if (options.certificate) {
    credentials = await readCertificate(options.certificate);
  } else {
    const hosts = ["localhost", "127.0.0.1", "::1"];
    if (!["0.0.0.0", "::", ...hosts].includes(address.hostname)) hosts.push(address.hostname);
    const generated = await createSelfSignedServingCertificate(hosts);
    credentials = { cert: generated.certPem, key: generated.keyPem };
    caPem = generated.caPem;
  }
  const auth = new MetricsAuth(options.reviewer, options.auth);
  let server: Server;
  try {
    server = createServer(credentials, (request, response) => {
      answer(request, response, { auth, metrics: options.metrics }).catch((error) => {
        logger.error("cannot answer a metrics request: {error}", { error: messageOf(error) });
        response.destroy();
      });
    });
  } catch (error) {
    throw new MetricsServingError(`invalid metrics certificate or key: ${messageOf(error)}`, {
      cause: error,
    });
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: Error) =>
      reject(
        new MetricsServingError(
          `cannot serve metrics on ${
            displayAddress(address.hostname, address.port)
          }: ${error.message}`,
          { cause: error },
        ),
      ));
    server.listen(address.port, address.hostname, () => resolve());
  });
  server.on("error", (error: Error) => {
    logger.error("metrics listener error: {error}", { error: error.message });
  });
  const bound = server.address();
  const port = typeof bound === "object" && bound !== null ? bound.port : address.port;
  logger.info("serving metrics on {address}", {
    address: displayAddress(address.hostname, port),
    secure: true,
    certificate: options.certificate
      ? `${options.certificate.dir}/${options.certificate.certName}`
      : "self-signed",
  });
  const reload = options.certificate
    ? setInterval(async () => {
      let next: { cert: string; key: string };
      try {
        next = await readCertificate(options.certificate!);
      } catch (error) {
        logger.warning("keeping the current metrics certificate: {error}", {
          error: messageOf(error),
        });
        return;
      }
      if (next.cert === credentials.cert && next.key === credentials.key) return;
      try {
        server.setSecureContext(next);
        credentials = next;
        logger.info("metrics certificate reloaded from {dir}", { dir: options.certificate!.dir });
      } catch (error) {
        logger.warning("keeping the current metrics certificate: {error}", {
          error: messageOf(error),
        });
      }
    }, options.reloadIntervalMs ?? 10_000)
    : undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      clearInterval(reload);
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };
  return { port, secure: true, caPem, close, [Symbol.asyncDispose]: close };
}

const TEXT = { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" };

async function answer(
  request: IncomingMessage,
  response: ServerResponse,
  { auth, metrics }: { auth: MetricsAuth; metrics: () => string },
): Promise<void> {
  const path = new URL(request.url ?? "/", "https://metrics").pathname;
  if (path !== "/metrics") {
    response.writeHead(404, TEXT).end("404 page not found\n");
    return;
  }
  const method = request.method ?? "GET";
  const decision = await auth.check(request.headers.authorization ?? null, method, path);
  if (!decision.allowed) {
    response.writeHead(decision.status, TEXT).end(`${decision.message}\n`);
    return;
  }
  if (method !== "GET" && method !== "HEAD") {
    response.writeHead(405, TEXT).end("method not allowed\n");
    return;
  }
  const body = metrics();
  response.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  response.end(method === "HEAD" ? undefined : body);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
