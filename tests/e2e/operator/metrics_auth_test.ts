// Secure /metrics end to end: HTTPS, every scrape's token checked by the dev API server (TokenReview
// as the operator's service account, then a SubjectAccessReview of "get /metrics"), answers cached;
// a certificate from --metrics-cert-path re-read when renewed; plain HTTP only when asked for.
import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { createCertificateAuthority } from "../../../lib/pki/mod.ts";
import { type MetricsServer, serveMetrics } from "../../../lib/operator/metrics_server.ts";
import type { KubeClient } from "../../../lib/client/mod.ts";
import { devOnly, eventually, OperatorEnv } from "../../support/operator_env.ts";
import { OperatorProcess } from "../../support/operator_process.ts";

const SCRAPER_TOKEN = "prometheus-token";
const TENANT_TOKEN = "tenant-token";
const TOKENS = {
  [SCRAPER_TOKEN]: "monitoring/prometheus",
  [TENANT_TOKEN]: "ns-a/admin",
};
const LOCALHOST = { hostname: "127.0.0.1", port: 0 };
const EXPOSITION = "# TYPE kleff_test gauge\nkleff_test 1\n";

/** Scrapes `path` over HTTPS trusting `caPem`, with `token` if given. */
async function scrape(
  port: number,
  caPem: string,
  options: { token?: string; method?: string; path?: string } = {},
): Promise<{ status: number; text: string }> {
  using client = Deno.createHttpClient({ caCerts: [caPem] });
  const response = await fetch(`https://127.0.0.1:${port}${options.path ?? "/metrics"}`, {
    client,
    method: options.method ?? "GET",
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
  });
  return { status: response.status, text: await response.text() };
}

function secureServer(
  reviewer: KubeClient,
  extra: Partial<Parameters<typeof serveMetrics>[0]> = {},
) {
  return serveMetrics({
    address: LOCALHOST,
    secure: true,
    metrics: () => EXPOSITION,
    reviewer,
    ...extra,
  });
}

/** A test bed (no operator) whose scraper token holds the metrics-reader grant. */
async function readerEnv(): Promise<OperatorEnv> {
  const env = await OperatorEnv.start({
    operator: false,
    server: { serviceAccountTokens: TOKENS },
  });
  try {
    await env.grantMetricsReader();
  } catch (error) {
    await env.close();
    throw error;
  }
  return env;
}

Deno.test({
  name: "metrics-reader gets metrics, another token 403, no token 401; reviews are cached",
  ...devOnly("service-account tokens of its own"),
}, async () => {
  await using env = await readerEnv();
  await using server = await secureServer(env.operatorClient) as MetricsServer;
  assert.equal(server.secure, true);
  const ca = server.caPem!;
  assert.deepEqual(await scrape(server.port, ca), { status: 401, text: "Unauthorized\n" });
  assert.deepEqual(await scrape(server.port, ca, { token: "made-up" }), {
    status: 401,
    text: "Unauthorized\n",
  });
  assert.deepEqual(await scrape(server.port, ca, { token: TENANT_TOKEN }), {
    status: 403,
    text: "Authorization denied for user system:serviceaccount:ns-a:admin\n",
  });
  assert.deepEqual(await scrape(server.port, ca, { token: SCRAPER_TOKEN }), {
    status: 200,
    text: EXPOSITION,
  });
  const reviews = (resource: string) => env.server.counters.count({ verb: "create", resource });
  const before = [reviews("tokenreviews"), reviews("subjectaccessreviews")];
  for (let i = 0; i < 3; i++) {
    assert.equal((await scrape(server.port, ca, { token: SCRAPER_TOKEN })).status, 200);
    assert.equal((await scrape(server.port, ca, { token: TENANT_TOKEN })).status, 403);
  }
  assert.deepEqual(
    [reviews("tokenreviews"), reviews("subjectaccessreviews")],
    before,
    "answers are reused (1 min for tokens, 5 min allowed, 30 s denied)",
  );
  assert.equal(
    (await scrape(server.port, ca, { token: SCRAPER_TOKEN, method: "POST" })).status,
    403,
    "the method is the verb reviewed",
  );
  assert.equal(
    (await scrape(server.port, ca, { token: SCRAPER_TOKEN, path: "/debug" })).status,
    404,
  );
  env.server.faults.failNext({ status: 500, count: 1, verb: "create", resource: "tokenreviews" });
  assert.deepEqual(await scrape(server.port, ca, { token: "not-cached" }), {
    status: 500,
    text: "Authentication failed\n",
  });
});

Deno.test({
  name: "a certificate from --metrics-cert-path is served and re-read when renewed",
  ...devOnly("service-account tokens of its own"),
}, async () => {
  await using env = await readerEnv();
  const dir = await Deno.makeTempDir({ prefix: "kleff-metrics-cert-" });
  try {
    const write = async () => {
      const ca = await createCertificateAuthority({ commonName: "metrics-ca" });
      const leaf = await ca.issue({
        commonName: "metrics",
        ipAddresses: ["127.0.0.1"],
        usage: "server",
      });
      await Deno.writeTextFile(`${dir}/cert.pem`, leaf.certPem);
      await Deno.writeTextFile(`${dir}/key.pem`, leaf.keyPem);
      return ca.certPem;
    };
    const first = await write();
    const certificate = { dir, certName: "cert.pem", keyName: "key.pem" };
    await using server = await secureServer(env.operatorClient, {
      certificate,
      reloadIntervalMs: 50,
    });
    assert.equal(server.caPem, undefined);
    assert.equal((await scrape(server.port, first, { token: SCRAPER_TOKEN })).status, 200);
    const second = await write();
    await eventually(
      "the renewed certificate served",
      async () =>
        (await scrape(server.port, second, { token: SCRAPER_TOKEN }).catch(() => undefined))
          ?.status === 200,
    );
    await assert.rejects(
      scrape(server.port, first, { token: SCRAPER_TOKEN }),
      "the old CA no longer verifies",
    );
    await assert.rejects(
      secureServer(env.operatorClient, { certificate: { ...certificate, keyName: "absent.pem" } }),
      /cannot read .*absent\.pem/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("plain HTTP metrics need no token, and say so when reachable from the network", async () => {
  const records: LogRecord[] = [];
  await configure({
    sinks: { capture: (record) => records.push(record) },
    loggers: [
      { category: ["kleff"], lowestLevel: "info", sinks: ["capture"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  try {
    const reviewer = {
      request: () => Promise.reject(new Error("plain HTTP sends no review")),
    } as unknown as KubeClient;
    await using local = await serveMetrics({
      address: LOCALHOST,
      secure: false,
      metrics: () => EXPOSITION,
      reviewer,
    });
    const response = await fetch(`http://127.0.0.1:${local.port}/metrics`);
    assert.equal(await response.text(), EXPOSITION);
    const warnings = () => records.filter((record) => record.level === "warning");
    assert.equal(warnings().length, 0, "a sidecar on localhost is fine");
    await using open = await serveMetrics({
      address: { hostname: "0.0.0.0", port: 0 },
      secure: false,
      metrics: () => EXPOSITION,
      reviewer,
    });
    assert.ok(open.port > 0);
    assert.equal(warnings().length, 1);
    assert.match(String(warnings()[0].rawMessage), /plain HTTP without authentication/);
  } finally {
    await reset();
  }
});

Deno.test({
  name: "the operator process serves secure metrics by default",
  ...devOnly("service-account tokens of its own"),
}, async () => {
  await using env = await readerEnv();
  const dir = await Deno.makeTempDir({ prefix: "kleff-metrics-cert-" });
  const ca = await createCertificateAuthority({ commonName: "metrics-ca" });
  const leaf = await ca.issue({
    commonName: "metrics",
    ipAddresses: ["127.0.0.1"],
    usage: "server",
  });
  await Deno.writeTextFile(`${dir}/tls.crt`, leaf.certPem);
  await Deno.writeTextFile(`${dir}/tls.key`, leaf.keyPem);
  const operator = new OperatorProcess([
    "--kubeconfig",
    env.operatorKubeconfigPath,
    "--health-probe-bind-address",
    "0",
    "--metrics-bind-address",
    "127.0.0.1:0",
    "--metrics-cert-path",
    dir,
  ]);
  try {
    const line = await operator.waitForLog(/^serving metrics on/);
    assert.equal(line.properties?.secure, true);
    const port = Number(String(line.properties?.address).split(":").at(-1));
    assert.equal((await scrape(port, ca.certPem)).status, 401);
    assert.equal((await scrape(port, ca.certPem, { token: TENANT_TOKEN })).status, 403);
    const allowed = await scrape(port, ca.certPem, { token: SCRAPER_TOKEN });
    assert.equal(allowed.status, 200);
    assert.match(
      allowed.text,
      /^controller_runtime_max_concurrent_reconciles\{controller="tenant"\} 4$/m,
    );
  } finally {
    operator.kill("SIGTERM");
    assert.equal(await operator.exited(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});
