// Who may read /metrics, decided by the API server as controller-runtime's secure metrics filter
// decides it: the caller's bearer token is checked with a TokenReview, the user it names with a
// SubjectAccessReview of the non-resource path, and both answers are cached briefly.
import type { TokenReview } from "kubernetes-types/authentication/v1.d.ts";
import type { SubjectAccessReview } from "kubernetes-types/authorization/v1.d.ts";
import type { RequestOptions } from "../client/mod.ts";
import { log } from "../log.ts";
import { digest } from "../digest.ts";

/** What sends the reviews: the operator's client (it needs `create` on both review kinds). */
export interface Reviewer {
  /** Sends one API request and parses the JSON answer. */
  request<T>(options: RequestOptions): Promise<T>;
}

/** The verdict on one request, with the HTTP answer a refusal gets. */
export type AccessDecision =
  | { allowed: true; user: string }
  | { allowed: false; status: 401 | 403 | 500; message: string };

/** Cache lifetimes; controller-runtime's are the defaults. */
export interface MetricsAuthOptions {
  /** How long a TokenReview answer is reused (default 1 min). */
  authenticationTtlMs?: number;
  /** How long an allowing SubjectAccessReview answer is reused (default 5 min). */
  allowTtlMs?: number;
  /** How long a denying SubjectAccessReview answer is reused (default 30 s). */
  denyTtlMs?: number;
  /** Entries kept per cache; the oldest go first (default 1024). */
  maxEntries?: number;
  /** Deadline of one review call (default 10 s). */
  timeoutMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

interface User {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** A bounded map whose entries expire; insertion order is eviction order. */
class ExpiringCache<T> {
  readonly #entries = new Map<string, { value: T; expires: number }>();
  readonly #max: number;
  readonly #now: () => number;

  constructor(max: number, now: () => number) {
    this.#max = max;
    this.#now = now;
  }

  get(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires > this.#now()) return entry.value;
    this.#entries.delete(key);
    return undefined;
  }

  set(key: string, value: T, ttlMs: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expires: this.#now() + ttlMs });
    while (this.#entries.size > this.#max) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** TokenReview + SubjectAccessReview with controller-runtime's caching and HTTP answers. */
export class MetricsAuth {
  readonly #reviewer: Reviewer;
  readonly #options: Required<Omit<MetricsAuthOptions, "now">>;
  readonly #tokens: ExpiringCache<User | null>;
  readonly #decisions: ExpiringCache<boolean>;

  /** Reviews through `reviewer`, caching as `options` say. */
  constructor(reviewer: Reviewer, options: MetricsAuthOptions = {}) {
    const now = options.now ?? Date.now;
    this.#reviewer = reviewer;
    this.#options = {
      authenticationTtlMs: options.authenticationTtlMs ?? 60_000,
      allowTtlMs: options.allowTtlMs ?? 300_000,
      denyTtlMs: options.denyTtlMs ?? 30_000,
      maxEntries: options.maxEntries ?? 1024,
      timeoutMs: options.timeoutMs ?? 10_000,
    };
    this.#tokens = new ExpiringCache(this.#options.maxEntries, now);
    this.#decisions = new ExpiringCache(this.#options.maxEntries, now);
  }

  /**
   * Decides a request for `path` made with HTTP `method` and the `authorization` header:
   * 401 without a valid bearer token, 403 when the user may not `get` (the lower-case method)
   * the path, 500 when the API server could not be asked.
   */
  async check(authorization: string | null, method: string, path: string): Promise<AccessDecision> {
    const token = BEARER.exec(authorization ?? "")?.[1];
    if (token === undefined) return { allowed: false, status: 401, message: "Unauthorized" };
    let user: User | null;
    try {
      user = await this.#authenticate(token);
    } catch (error) {
      log("metrics").error("Authentication failed: {error}", { error: messageOf(error) });
      return { allowed: false, status: 500, message: "Authentication failed" };
    }
    if (user === null) return { allowed: false, status: 401, message: "Unauthorized" };
    const verb = method.toLowerCase();
    let allowed: boolean;
    try {
      allowed = await this.#authorize(user, verb, path);
    } catch (error) {
      const message = `Authorization for user ${user.username} failed`;
      log("metrics").error(`${message}: {error}`, { error: messageOf(error) });
      return { allowed: false, status: 500, message };
    }
    if (!allowed) {
      return {
        allowed: false,
        status: 403,
        message: `Authorization denied for user ${user.username}`,
      };
    }
    return { allowed: true, user: user.username };
  }

  async #authenticate(token: string): Promise<User | null> {
    // Cached by digest: the cache never holds a token itself.
    const key = digest(token);
    const cached = this.#tokens.get(key);
    if (cached !== undefined) return cached;
    const review = await this.#reviewer.request<TokenReview>({
      method: "POST",
      path: "/apis/authentication.k8s.io/v1/tokenreviews",
      body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } },
      signal: AbortSignal.timeout(this.#options.timeoutMs),
    });
    const status = review?.status;
    const user = status?.authenticated && status.user?.username
      ? { ...status.user, username: status.user.username }
      : null;
    if (user === null && status?.error) {
      log("metrics").debug("token not authenticated: {error}", { error: status.error });
    }
    this.#tokens.set(key, user, this.#options.authenticationTtlMs);
    return user;
  }

  async #authorize(user: User, verb: string, path: string): Promise<boolean> {
    const key = JSON.stringify([
      user.username,
      user.uid ?? "",
      user.groups ?? [],
      user.extra ?? {},
      verb,
      path,
    ]);
    const cached = this.#decisions.get(key);
    if (cached !== undefined) return cached;
    const review = await this.#reviewer.request<SubjectAccessReview>({
      method: "POST",
      path: "/apis/authorization.k8s.io/v1/subjectaccessreviews",
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user: user.username,
          uid: user.uid,
          groups: user.groups,
          extra: user.extra,
          nonResourceAttributes: { path, verb },
        },
      },
      signal: AbortSignal.timeout(this.#options.timeoutMs),
    });
    const allowed = review?.status?.allowed === true;
    this.#decisions.set(key, allowed, allowed ? this.#options.allowTtlMs : this.#options.denyTtlMs);
    return allowed;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
