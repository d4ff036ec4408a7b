// TLS setups against a local HTTPS server: CA trust, tls-server-name, insecure-skip-tls-verify, and their failures.
import assert from "node:assert/strict";
import { createCertificateAuthority } from "../../../lib/pki/mod.ts";
import { type ConnectionConfig, ConnectionError, KubeClient } from "../../../lib/client/mod.ts";

async function withHttps(
  dnsNames: string[],
  ipAddresses: string[],
  fn: (port: number, caPem: string) => Promise<void>,
) {
  const ca = await createCertificateAuthority({ commonName: "transport-test-ca" });
  const leaf = await ca.issue({ commonName: "server", usage: "server", dnsNames, ipAddresses });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: leaf.certPem, key: leaf.keyPem, onListen() {} },
    (request) => Response.json({ path: new URL(request.url).pathname }),
  );
  try {
    await fn(server.addr.port, ca.certPem);
  } finally {
    await server.shutdown();
  }
}

function client(server: string, tls: Partial<ConnectionConfig>): KubeClient {
  return new KubeClient({
    server,
    namespace: "default",
    insecureSkipTlsVerify: false,
    auth: { kind: "none" },
    source: { kind: "in-cluster", dir: "/x" },
    ...tls,
  }, { maxRetries: 0 });
}

Deno.test("HTTPS with the cluster CA works; without it the certificate is rejected as a ConnectionError", async () => {
  await withHttps(["localhost"], ["127.0.0.1"], async (port, caPem) => {
    using trusted = client(`https://127.0.0.1:${port}`, { caPem });
    assert.deepEqual(await trusted.request({ path: "/api" }), { path: "/api" });
    using untrusted = client(`https://127.0.0.1:${port}`, {});
    await assert.rejects(untrusted.request({ path: "/api" }), ConnectionError);
  });
});

Deno.test("tls-server-name verifies the certificate against that name instead of the URL's host", async () => {
  await withHttps(["api.internal"], [], async (port, caPem) => {
    using byIp = client(`https://127.0.0.1:${port}`, { caPem });
    await assert.rejects(byIp.request({ path: "/api" }), ConnectionError);
    using named = client(`https://127.0.0.1:${port}`, { caPem, tlsServerName: "api.internal" });
    assert.deepEqual(await named.request({ path: "/api/v1" }), { path: "/api/v1" });
    using wrongName = client(`https://127.0.0.1:${port}`, {
      caPem,
      tlsServerName: "other.internal",
    });
    await assert.rejects(wrongName.request({ path: "/api" }), ConnectionError);
  });
});

Deno.test("insecure-skip-tls-verify accepts an unknown CA (streams work too)", async () => {
  await withHttps(["localhost"], ["127.0.0.1"], async (port) => {
    using insecure = client(`https://127.0.0.1:${port}`, { insecureSkipTlsVerify: true });
    assert.deepEqual(await insecure.request({ path: "/x" }), { path: "/x" });
    const body = await insecure.stream({ path: "/y" });
    assert.equal(await new Response(body).text(), JSON.stringify({ path: "/y" }));
  });
});
