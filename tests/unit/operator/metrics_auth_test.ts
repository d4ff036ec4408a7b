// The secure metrics filter's decisions and caching (controller-runtime's TTLs: a token 1 min, an
// allowed scrape 5 min, a denied one 30 s), with a scripted API server and clock.
import assert from "node:assert/strict";
import { MetricsAuth, type Reviewer } from "../../../lib/operator/metrics_auth.ts";
import type { RequestOptions } from "../../../lib/client/mod.ts";

/** An API server that knows two tokens and lets only `reader` get /metrics; counts its reviews. */
class ScriptedServer implements Reviewer {
  readonly sent: { path: string; body: Record<string, unknown> }[] = [];
  failing = false;

  request<T>(options: RequestOptions): Promise<T> {
    const body = options.body as { spec: Record<string, unknown> };
    this.sent.push({ path: options.path, body });
    if (this.failing) return Promise.reject(new Error("connection refused"));
    if (options.path.endsWith("/tokenreviews")) {
      const users: Record<string, string> = { "reader-token": "reader", "other-token": "other" };
      const username = users[body.spec.token as string];
      return Promise.resolve(
        (username
          ? {
            status: { authenticated: true, user: { username, groups: ["system:authenticated"] } },
          }
          : { status: { user: {}, error: "invalid bearer token" } }) as T,
      );
    }
    const attributes = body.spec.nonResourceAttributes as { path: string; verb: string };
    const allowed = body.spec.user === "reader" && attributes.verb === "get" &&
      attributes.path === "/metrics";
    return Promise.resolve({ status: { allowed } } as T);
  }

  count(kind: "tokenreviews" | "subjectaccessreviews"): number {
    return this.sent.filter((request) => request.path.endsWith(`/${kind}`)).length;
  }
}

Deno.test("tokens are reviewed, then users; the answers are 401, 403, 500 or allowed", async () => {
  const server = new ScriptedServer();
  const auth = new MetricsAuth(server);
  assert.deepEqual(await auth.check(null, "GET", "/metrics"), {
    allowed: false,
    status: 401,
    message: "Unauthorized",
  });
  assert.deepEqual(await auth.check("Basic abc", "GET", "/metrics"), {
    allowed: false,
    status: 401,
    message: "Unauthorized",
  });
  assert.equal(server.sent.length, 0, "nothing to review without a bearer token");
  assert.deepEqual(await auth.check("Bearer nope", "GET", "/metrics"), {
    allowed: false,
    status: 401,
    message: "Unauthorized",
  });
  assert.deepEqual(await auth.check("Bearer other-token", "GET", "/metrics"), {
    allowed: false,
    status: 403,
    message: "Authorization denied for user other",
  });
  assert.deepEqual(await auth.check("bearer reader-token", "GET", "/metrics"), {
    allowed: true,
    user: "reader",
  });
  assert.deepEqual(await auth.check("Bearer reader-token", "POST", "/metrics"), {
    allowed: false,
    status: 403,
    message: "Authorization denied for user reader",
  });
  const review = server.sent.find((request) => request.path.endsWith("/subjectaccessreviews"));
  assert.deepEqual(review?.body, {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SubjectAccessReview",
    spec: {
      user: "other",
      uid: undefined,
      groups: ["system:authenticated"],
      extra: undefined,
      nonResourceAttributes: { path: "/metrics", verb: "get" },
    },
  });
  server.failing = true;
  assert.deepEqual(await auth.check("Bearer new-token", "GET", "/metrics"), {
    allowed: false,
    status: 500,
    message: "Authentication failed",
  });
});

Deno.test("answers are cached for controller-runtime's lifetimes, failures not at all", async () => {
  let now = 0;
  const server = new ScriptedServer();
  const auth = new MetricsAuth(server, { now: () => now });
  const check = (token: string) => auth.check(`Bearer ${token}`, "GET", "/metrics");
  await check("reader-token");
  await check("other-token");
  await check("nope");
  assert.deepEqual([server.count("tokenreviews"), server.count("subjectaccessreviews")], [3, 2]);
  now = 29_999;
  for (const token of ["reader-token", "other-token", "nope"]) await check(token);
  assert.deepEqual([server.count("tokenreviews"), server.count("subjectaccessreviews")], [3, 2]);
  now = 30_000;
  await check("reader-token");
  await check("other-token");
  assert.deepEqual(
    [server.count("tokenreviews"), server.count("subjectaccessreviews")],
    [3, 3],
    "a denial is asked again after 30 s",
  );
  now = 60_000;
  await check("reader-token");
  assert.deepEqual(
    [server.count("tokenreviews"), server.count("subjectaccessreviews")],
    [4, 3],
    "a token is reviewed again after 1 min, the allowed decision still cached",
  );
  now = 300_000;
  await check("reader-token");
  assert.deepEqual([server.count("tokenreviews"), server.count("subjectaccessreviews")], [5, 4]);

  server.failing = true;
  assert.equal((await check("fresh-token")).allowed, false);
  server.failing = false;
  assert.equal((await check("reader-token")).allowed, true);
  const reviews = server.count("tokenreviews");
  await check("fresh-token");
  assert.equal(server.count("tokenreviews"), reviews + 1, "a failed review is not remembered");
});

Deno.test("the caches are bounded, the oldest answers going first", async () => {
  const server = new ScriptedServer();
  const auth = new MetricsAuth(server, { maxEntries: 2 });
  for (const token of ["reader-token", "nope", "other-token"]) {
    await auth.check(`Bearer ${token}`, "GET", "/metrics");
  }
  await auth.check("Bearer reader-token", "GET", "/metrics");
  assert.equal(server.count("tokenreviews"), 4, "the oldest token was evicted");
  await auth.check("Bearer other-token", "GET", "/metrics");
  assert.equal(server.count("tokenreviews"), 4, "the newest ones stay");
});
