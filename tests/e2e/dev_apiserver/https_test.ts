// The dev API server over HTTPS: its generated CA in the kubeconfig, bearer tokens and client
// certificates.
import assert from "node:assert/strict";
import { startDevApiServer } from "../../../dev_apiserver/mod.ts";

function decode(base64: string): string {
  return new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
}

Deno.test("https: serves TLS with the generated CA written into the kubeconfig", async () => {
  const server = await startDevApiServer({ tls: true, tokens: ["t"] });
  const client = Deno.createHttpClient({ caCerts: [server.caPem!] });
  try {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const cluster = server.kubeconfig.clusters[0].cluster;
    assert.equal(decode(cluster["certificate-authority-data"]!), server.caPem);
    assert.equal(cluster["insecure-skip-tls-verify"], undefined);
    const denied = await fetch(`${server.url}/api/v1/namespaces`, { client });
    assert.equal(denied.status, 401);
    await denied.body?.cancel();
    const ok = await fetch(`${server.url}/api/v1/namespaces`, {
      client,
      headers: { authorization: "Bearer t" },
    });
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).kind, "NamespaceList");
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("https: client certificates signed by the dev CA authenticate, nothing else does", async () => {
  const server = await startDevApiServer({ tls: true, clientCertificates: true });
  const user = server.kubeconfig.users[0].user;
  const client = Deno.createHttpClient({
    caCerts: [server.caPem!],
    cert: decode(user["client-certificate-data"]!),
    key: decode(user["client-key-data"]!),
  });
  const anonymous = Deno.createHttpClient({ caCerts: [server.caPem!] });
  try {
    const ok = await fetch(`${server.url}/api/v1/namespaces/default`, { client });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const denied = await fetch(`${server.url}/api/v1/namespaces/default`, { client: anonymous });
    assert.equal(denied.status, 401);
    await denied.body?.cancel();
  } finally {
    client.close();
    anonymous.close();
    await server.close();
  }
});

Deno.test("https: an IPv6 host name with hex digits is an IP address of the certificate", async () => {
  const server = await startDevApiServer({ tls: true, hostname: "::ffff:7f00:1" });
  const client = Deno.createHttpClient({ caCerts: [server.caPem!] });
  try {
    assert.match(server.url, /^https:\/\/\[::ffff:7f00:1\]:\d+$/);
    const ok = await fetch(`${server.url}/api/v1/namespaces/default`, { client });
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).metadata.name, "default");
  } finally {
    client.close();
    await server.close();
  }
});
