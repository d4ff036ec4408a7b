// Supplies request credentials (token, token file, exec plugin) with caching and refresh, keeping secrets out of messages.
import type { AuthConfig, ExecConfig } from "./connection.ts";
import { CredentialError } from "./errors.ts";
import { errorName, isRecord } from "./guards.ts";

/** What a request authenticates with right now. */
export interface Credentials {
  /** The `Authorization` header value, if any. */
  authorization?: string;
  /** PEM client certificate from an exec plugin (overrides the kubeconfig's). */
  clientCertPem?: string;
  /** PEM client key from an exec plugin. */
  clientKeyPem?: string;
}

/** Options of {@linkcode CredentialProvider}; the defaults suit production. */
export interface CredentialProviderOptions {
  /** How long a token file's content is used before it is read again (default 60 s). */
  tokenFileRefreshMs?: number;
  /** Whether stdin is a terminal, for exec plugins' `interactiveMode` (default `Deno.stdin.isTerminal()`). */
  stdinIsTerminal?: () => boolean;
  /** Longest an exec plugin may run (default 60 s). */
  execTimeoutMs?: number;
  /** Clock (ms epoch), for tests. */
  now?: () => number;
}

/** Caches credentials from one {@linkcode AuthConfig} and refreshes them when stale or rejected. */
export class CredentialProvider {
  #auth: AuthConfig;
  #options: Required<CredentialProviderOptions>;
  #cached?: { credentials: Credentials; expiresAt: number };
  #pending?: Promise<Credentials>;

  /** Creates a provider; nothing is read or run until {@linkcode get}. */
  constructor(auth: AuthConfig, options: CredentialProviderOptions = {}) {
    this.#auth = auth;
    this.#options = {
      tokenFileRefreshMs: options.tokenFileRefreshMs ?? 60_000,
      stdinIsTerminal: options.stdinIsTerminal ?? (() => Deno.stdin.isTerminal()),
      execTimeoutMs: options.execTimeoutMs ?? 60_000,
      now: options.now ?? Date.now,
    };
  }

  /** True when a rejected request might succeed after {@linkcode invalidate} (token file or exec plugin). */
  get refreshable(): boolean {
    return this.#auth.kind === "tokenFile" || this.#auth.kind === "exec";
  }

  /** Current credentials, from the cache while still fresh. */
  get(): Promise<Credentials> {
    const cached = this.#cached;
    if (cached && this.#options.now() < cached.expiresAt) {
      return Promise.resolve(cached.credentials);
    }
    this.#pending ??= this.#load().finally(() => this.#pending = undefined);
    return this.#pending;
  }

  /** Forgets cached credentials (after a 401), so the next {@linkcode get} reads or runs again. */
  invalidate(): void {
    this.#cached = undefined;
  }

  async #load(): Promise<Credentials> {
    const auth = this.#auth;
    const now = this.#options.now();
    switch (auth.kind) {
      case "none":
        return this.#store({}, Infinity);
      case "token":
        return this.#store({ authorization: `Bearer ${auth.token}` }, Infinity);
      case "basic":
        return this.#store(
          { authorization: `Basic ${btoa(`${auth.username}:${auth.password}`)}` },
          Infinity,
        );
      case "tokenFile": {
        const token = await readTokenFile(auth.path);
        return this.#store(
          { authorization: `Bearer ${token}` },
          now + this.#options.tokenFileRefreshMs,
        );
      }
      case "exec": {
        const result = await runExecPlugin(auth.exec, {
          interactive: this.#interactive(auth.exec),
          timeoutMs: this.#options.execTimeoutMs,
        });
        return this.#store(result.credentials, result.expiresAt ?? Infinity);
      }
    }
  }

  #store(credentials: Credentials, expiresAt: number): Credentials {
    this.#cached = { credentials, expiresAt };
    return credentials;
  }

  #interactive(exec: ExecConfig): boolean {
    if (exec.interactiveMode === "Never") return false;
    const terminal = this.#options.stdinIsTerminal();
    if (exec.interactiveMode === "Always" && !terminal) {
      throw new CredentialError(
        `exec plugin ${exec.command} (user "${exec.origin.user}") has interactiveMode Always but stdin is not a terminal`,
      );
    }
    return terminal;
  }
}

async function readTokenFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new CredentialError(
      `cannot read token file ${path} (${errorName(error)})`,
    );
  }
  const token = text.trim();
  if (!token) throw new CredentialError(`token file ${path} is empty`);
  return token;
}

/** Runs an exec credential plugin once and checks its `ExecCredential` answer. */
async function runExecPlugin(
  exec: ExecConfig,
  options: { interactive: boolean; timeoutMs: number },
): Promise<{ credentials: Credentials; expiresAt?: number }> {
  const name = `exec plugin ${exec.command} (user "${exec.origin.user}"${
    exec.origin.file ? `, file ${exec.origin.file}` : ""
  })`;
  const spec: Record<string, unknown> = { interactive: options.interactive };
  if (exec.provideClusterInfo) {
    spec.cluster = {
      server: exec.cluster.server,
      certificateAuthorityData: exec.cluster.certificateAuthorityData,
      insecureSkipTLSVerify: exec.cluster.insecureSkipTlsVerify,
      tlsServerName: exec.cluster.tlsServerName,
    };
  }
  const info = { apiVersion: exec.apiVersion, kind: "ExecCredential", spec };
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(exec.command, {
      args: exec.args,
      env: { ...exec.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) },
      stdin: options.interactive ? "inherit" : "null",
      stdout: "piped",
      stderr: options.interactive ? "inherit" : "piped",
      signal: AbortSignal.timeout(options.timeoutMs),
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new CredentialError(
        `${name}: command not found${exec.installHint ? `. ${exec.installHint}` : ""}`,
      );
    }
    throw new CredentialError(
      `${name}: could not run (${errorName(error)})`,
    );
  }
  if (!output.success) {
    // stderr and stdout may hold secrets: only their sizes are reported.
    throw new CredentialError(
      `${name}: exited with ${
        output.signal ? `signal ${output.signal}` : `code ${output.code}`
      } (${output.stderr.length} bytes on stderr, not shown)`,
    );
  }
  let credential: unknown;
  try {
    credential = JSON.parse(new TextDecoder().decode(output.stdout));
  } catch {
    throw new CredentialError(
      `${name}: printed ${output.stdout.length} bytes that are not JSON (not shown)`,
    );
  }
  if (!isRecord(credential) || credential.kind !== "ExecCredential") {
    throw new CredentialError(`${name}: output is not an ExecCredential`);
  }
  if (credential.apiVersion !== exec.apiVersion) {
    throw new CredentialError(
      `${name}: output apiVersion ${
        JSON.stringify(credential.apiVersion ?? null)
      } differs from the configured ${exec.apiVersion}`,
    );
  }
  const status = credential.status;
  if (!isRecord(status)) throw new CredentialError(`${name}: output has no status`);
  const { token, clientCertificateData: cert, clientKeyData: key, expirationTimestamp } = status;
  const credentials: Credentials = {};
  if (typeof token === "string" && token) credentials.authorization = `Bearer ${token}`;
  if (typeof cert === "string" && typeof key === "string" && cert && key) {
    credentials.clientCertPem = cert;
    credentials.clientKeyPem = key;
  } else if (cert || key) {
    throw new CredentialError(`${name}: status needs both clientCertificateData and clientKeyData`);
  }
  if (!credentials.authorization && !credentials.clientCertPem) {
    throw new CredentialError(`${name}: status has neither token nor client certificate`);
  }
  let expiresAt: number | undefined;
  if (expirationTimestamp !== undefined && expirationTimestamp !== null) {
    expiresAt = typeof expirationTimestamp === "string" ? Date.parse(expirationTimestamp) : NaN;
    if (Number.isNaN(expiresAt)) {
      throw new CredentialError(`${name}: status.expirationTimestamp is not an RFC 3339 time`);
    }
  }
  return { credentials, expiresAt };
}
