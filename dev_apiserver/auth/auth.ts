// Authentication: who sent a request (bearer token now, client certificate via the TLS listener).
import { serviceAccountIdentity } from "./rbac.ts";
import type { Identity } from "../types.ts";

/** The identity of requests when no credentials are required. */
const ADMIN: Identity = {
  username: "system:admin",
  groups: ["system:masters", "system:authenticated"],
};

/** What an {@linkcode Authenticator} accepts. */
export interface AuthenticatorOptions {
  /** Accepted admin bearer tokens (empty = none). */
  tokens?: string[];
  /** Service account tokens: token -> `namespace/name`. */
  serviceAccountTokens?: Record<string, string>;
  /** Client certificates authenticate, so requests without credentials are refused. */
  clientCertificates?: boolean;
}

/** Decides who a request comes from; undefined means 401 Unauthorized. */
export class Authenticator {
  #tokens = new Set<string>();
  #serviceAccounts = new Map<string, Identity>();
  #clientCertificates: boolean;

  /** Starts with the accepted credentials; with none at all, every request is the admin. */
  constructor(options: AuthenticatorOptions = {}) {
    this.setTokens(options.tokens ?? []);
    this.#clientCertificates = options.clientCertificates ?? false;
    for (const [token, account] of Object.entries(options.serviceAccountTokens ?? {})) {
      const [namespace, name, extra] = account.split("/");
      if (!token || !namespace || !name || extra !== undefined) {
        throw new TypeError(`service account token: expected "namespace/name", got "${account}"`);
      }
      this.#serviceAccounts.set(token, serviceAccountIdentity(namespace, name));
    }
  }

  /** Replaces the accepted bearer tokens. */
  setTokens(tokens: string[]): void {
    this.#tokens = new Set(tokens.filter((t) => t.length > 0));
  }

  /** True when requests must carry credentials. */
  get required(): boolean {
    return this.#clientCertificates || this.#tokens.size > 0 || this.#serviceAccounts.size > 0;
  }

  /**
   * The identity of a request: the client certificate identity the TLS listener verified, else a
   * valid bearer token's user, else the admin when no credentials are required.
   */
  authenticate(request: Request, certificateIdentity?: Identity): Identity | undefined {
    if (certificateIdentity) return certificateIdentity;
    if (!this.required) return ADMIN;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "");
    return match ? this.authenticateToken(match[1]) : undefined;
  }

  /** The user a bearer token authenticates as (also what a TokenReview of it answers). */
  authenticateToken(token: string): Identity | undefined {
    const account = this.#serviceAccounts.get(token);
    if (account) return account;
    if (this.#tokens.has(token)) {
      return { username: "dev-user", groups: ["system:masters", "system:authenticated"] };
    }
    return undefined;
  }
}
