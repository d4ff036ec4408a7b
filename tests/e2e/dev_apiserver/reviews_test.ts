// TokenReview and SubjectAccessReview on the dev API server: answered from its tokens and its
// RBAC mode, and only for callers RBAC lets create them.
import assert from "node:assert/strict";
import { api, withServer } from "./support.ts";

const TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews";
const ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/subjectaccessreviews";
const ADMIN = { authorization: "Bearer admin-token" };

Deno.test("TokenReview names the user of a token; SubjectAccessReview applies RBAC", async () => {
  await withServer(async (server) => {
    const review = (token: string) =>
      api(server, "POST", TOKEN_REVIEWS, {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        spec: { token },
      }, ADMIN);
    const known = await review("scraper-token");
    assert.equal(known.status, 201);
    assert.deepEqual(known.body.status, {
      authenticated: true,
      user: {
        username: "system:serviceaccount:monitoring:prometheus",
        groups: [
          "system:serviceaccounts",
          "system:serviceaccounts:monitoring",
          "system:authenticated",
        ],
      },
    });
    assert.deepEqual((await review("made-up")).body.status, { user: {} });
    const empty = await review("");
    assert.equal(empty.status, 400);
    assert.equal(empty.body.message, "token is required for TokenReview in authentication");

    const access = (user: string, groups: string[], attributes: Record<string, unknown>) =>
      api(server, "POST", ACCESS_REVIEWS, {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: { user, groups, ...attributes },
      }, ADMIN);
    const prometheus = known.body.status.user;
    const metrics = { nonResourceAttributes: { path: "/metrics", verb: "get" } };
    assert.deepEqual(
      (await access(prometheus.username, prometheus.groups, metrics)).body.status,
      { allowed: false },
    );
    assert.equal(
      (await api(server, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", {
        metadata: { name: "metrics-reader" },
        rules: [{ nonResourceURLs: ["/metrics"], verbs: ["get"] }],
      }, ADMIN)).status,
      201,
    );
    assert.equal(
      (await api(server, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        metadata: { name: "prometheus-metrics" },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: "metrics-reader",
        },
        subjects: [{ kind: "ServiceAccount", namespace: "monitoring", name: "prometheus" }],
      }, ADMIN)).status,
      201,
    );
    assert.deepEqual(
      (await access(prometheus.username, prometheus.groups, metrics)).body.status,
      {
        allowed: true,
        reason:
          'RBAC: allowed by ClusterRoleBinding "prometheus-metrics" of ClusterRole "metrics-reader" to ServiceAccount "prometheus/monitoring"',
      },
    );
    assert.deepEqual(
      (await access(prometheus.username, prometheus.groups, {
        nonResourceAttributes: { path: "/metrics", verb: "post" },
      })).body.status,
      { allowed: false },
    );
    assert.deepEqual(
      (await access(prometheus.username, prometheus.groups, {
        resourceAttributes: { verb: "list", resource: "secrets", namespace: "default" },
      })).body.status,
      { allowed: false },
    );
    assert.deepEqual(
      (await access("alice", ["system:masters"], {
        resourceAttributes: { verb: "delete", resource: "namespaces", name: "kube-system" },
      })).body.status,
      { allowed: true },
    );
    assert.deepEqual(
      (await access("bob", ["system:authenticated"], {
        nonResourceAttributes: { path: "/version", verb: "get" },
      })).body.status,
      { allowed: true },
      "discovery is open to authenticated users",
    );
    const neither = await access("alice", [], {});
    assert.equal(neither.status, 422);
    assert.match(
      neither.body.message,
      /exactly one of nonResourceAttributes or resourceAttributes/,
    );
    const nobody = await access("", [], metrics);
    assert.equal(nobody.status, 422);
    assert.match(nobody.body.message, /at least one of user or group must be specified/);
  }, {
    tokens: ["admin-token"],
    authorization: "RBAC",
    serviceAccountTokens: { "scraper-token": "monitoring/prometheus" },
  });
});

Deno.test("only callers RBAC lets create reviews get answers", async () => {
  await withServer(async (server) => {
    const asScraper = { authorization: "Bearer scraper-token" };
    const denied = await api(
      server,
      "POST",
      TOKEN_REVIEWS,
      { spec: { token: "scraper-token" } },
      asScraper,
    );
    assert.equal(denied.status, 403);
    assert.equal(
      denied.body.message,
      'tokenreviews.authentication.k8s.io is forbidden: User "system:serviceaccount:monitoring:prometheus" cannot create resource "tokenreviews" in API group "authentication.k8s.io" at the cluster scope',
    );
    assert.equal(
      (await api(server, "GET", TOKEN_REVIEWS, undefined, ADMIN)).status,
      405,
      "reviews are create-only",
    );
    const discovery = await api(server, "GET", "/apis/authorization.k8s.io/v1", undefined, ADMIN);
    assert.deepEqual(
      discovery.body.resources.map((r: { name: string; verbs: string[] }) => [r.name, r.verbs]),
      [["subjectaccessreviews", ["create"]]],
    );
  }, {
    tokens: ["admin-token"],
    authorization: "RBAC",
    serviceAccountTokens: { "scraper-token": "monitoring/prometheus" },
  });
});
