// Authentication: who sent a request (bearer token now, client certificate via the TLS listener).
import { serviceAccountIdentity } from "./rbac.ts";
import type { Identity } from "./types.ts";

/** The identity of requests when no credentials are required. */
export const ADMIN: Identity = {
  username: "system:admin",
  groups: ["system:masters", "system:authenticated"],
};

/** Decides who a request comes from; undefined means 401 Unauthorized. */
export class Authenticator {
  #tokens = new Set<string>();
  #serviceAccounts = new Map<string, Identity>();

  /**
   * Starts with the accepted admin bearer tokens (empty = no token needed) and service account
   * tokens (token -> `namespace/name`).
   */
  constructor(tokens: string[] = [], serviceAccountTokens: Record<string, string> = {}) {
    this.setTokens(tokens);
    for (const [token, account] of Object.entries(serviceAccountTokens)) {
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
    return this.#tokens.size > 0 || this.#serviceAccounts.size > 0;
  }

  /**
   * The identity of a request: the client certificate identity the TLS listener verified, else a
   * valid bearer token's user, else the admin when no credentials are required.
   */
  authenticate(request: Request, certificateIdentity?: Identity): Identity | undefined {
    if (certificateIdentity) return certificateIdentity;
    if (!this.required) return ADMIN;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "");
    const account = match ? this.#serviceAccounts.get(match[1]) : undefined;
    if (account) return account;
    if (match && this.#tokens.has(match[1])) {
      return { username: "dev-user", groups: ["system:masters", "system:authenticated"] };
    }
    return undefined;
  }
}
