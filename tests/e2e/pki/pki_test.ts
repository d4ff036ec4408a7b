// The generated CA and leaf certificates are accepted by openssl, node:crypto, Deno's TLS
// (rustls) and kubectl (Go crypto/x509).
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import {
  CertificateOptionsError,
  createCertificateAuthority,
  createSelfSignedServingCertificate,
  DerEncodingError,
  InvalidIpAddressError,
} from "../../../lib/pki/mod.ts";
import { onPath } from "../../support/fs.ts";
import { runTool, type ToolRun } from "../../support/tools.ts";

const hasOpenssl = onPath("openssl");
const hasKubectl = onPath("kubectl");
const hasIpv6Loopback = (() => {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
})();

const ca = await createCertificateAuthority({ commonName: "kleff-test-ca" });
const server = await ca.issue({
  commonName: "kleff-test-server",
  dnsNames: ["localhost"],
  ipAddresses: ["127.0.0.1", "::1"],
  usage: "server",
});
const client = await ca.issue({
  commonName: "alice",
  organizations: ["devs", "system:masters"],
  usage: "client",
});

function run(command: string, args: string[], stdin?: string): Promise<ToolRun> {
  return runTool(command, args, { stdin });
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "kleff-pki-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("PEM blocks have the expected labels", () => {
  assert.match(
    ca.certPem,
    /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/,
  );
  assert.match(
    server.keyPem,
    /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/,
  );
});

Deno.test("node:crypto parses the CA and leaves and checks the chain", () => {
  const caCert = new X509Certificate(ca.certPem);
  const serverCert = new X509Certificate(server.certPem);
  const clientCert = new X509Certificate(client.certPem);
  assert.equal(caCert.ca, true);
  assert.equal(serverCert.ca, false);
  assert.equal(caCert.subject, "CN=kleff-test-ca");
  assert.equal(serverCert.issuer, "CN=kleff-test-ca");
  assert.ok(serverCert.checkIssued(caCert));
  assert.ok(serverCert.verify(caCert.publicKey));
  assert.ok(clientCert.verify(caCert.publicKey));
  assert.ok(caCert.verify(caCert.publicKey));
  assert.equal(serverCert.checkHost("localhost"), "localhost");
  assert.equal(serverCert.checkIP("127.0.0.1"), "127.0.0.1");
  assert.match(clientCert.subject, /O=devs\nO=system:masters\nCN=alice/);
  const age = Date.now() - Date.parse(serverCert.validFrom);
  assert.ok(age >= 59_000 && age < 120_000, `notBefore is about a minute ago (${age} ms)`);
});

Deno.test("serial numbers are random and positive", () => {
  const serials = [ca, server, client].map((bundle) =>
    new X509Certificate(bundle.certPem).serialNumber
  );
  assert.equal(new Set(serials).size, 3);
  for (const serial of serials) assert.match(serial, /^[4-7][0-9A-F]{31}$/);
});

Deno.test({
  name: "openssl shows the extensions and verifies the chain",
  ignore: !hasOpenssl,
  async fn() {
    const caText = await run("openssl", ["x509", "-noout", "-text"], ca.certPem);
    assert.equal(caText.code, 0, caText.stderr);
    assert.match(caText.stdout, /Basic Constraints: critical\s+CA:TRUE/);
    assert.match(
      caText.stdout,
      /Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/,
    );
    assert.match(caText.stdout, /Subject Key Identifier/);
    assert.match(caText.stdout, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(caText.stdout, /NIST CURVE: P-256/);

    const serverText = await run("openssl", ["x509", "-noout", "-text"], server.certPem);
    assert.match(serverText.stdout, /Basic Constraints: critical\s+CA:FALSE/);
    assert.match(serverText.stdout, /Extended Key Usage:\s+TLS Web Server Authentication/);
    assert.match(
      serverText.stdout,
      /DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1/,
    );
    assert.match(serverText.stdout, /Authority Key Identifier/);
    const clientText = await run("openssl", ["x509", "-noout", "-text"], client.certPem);
    assert.match(clientText.stdout, /Subject: O = devs, O = system:masters, CN = alice/);
    assert.match(clientText.stdout, /TLS Web Client Authentication/);

    const key = await run("openssl", ["pkey", "-noout", "-text"], client.keyPem);
    assert.equal(key.code, 0, key.stderr);
    assert.match(key.stdout, /NIST CURVE: P-256/);

    const other = await createCertificateAuthority({ commonName: "kleff-test-ca" });
    await withTempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/ca.pem`, ca.certPem);
      await Deno.writeTextFile(`${dir}/server.pem`, server.certPem);
      await Deno.writeTextFile(`${dir}/client.pem`, client.certPem);
      await Deno.writeTextFile(`${dir}/other.pem`, other.certPem);
      const verify = (purpose: string, cafile: string, leaf: string) =>
        run("openssl", ["verify", "-purpose", purpose, "-CAfile", cafile, leaf]);
      assert.equal((await verify("sslserver", `${dir}/ca.pem`, `${dir}/server.pem`)).code, 0);
      assert.equal((await verify("sslclient", `${dir}/ca.pem`, `${dir}/client.pem`)).code, 0);
      assert.notEqual((await verify("sslclient", `${dir}/ca.pem`, `${dir}/server.pem`)).code, 0);
      assert.notEqual((await verify("sslserver", `${dir}/other.pem`, `${dir}/server.pem`)).code, 0);
    });
  },
});

Deno.test("Deno.serve uses the server certificate for 127.0.0.1 and localhost", async () => {
  const listener = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: server.certPem, key: server.keyPem, onListen() {} },
    (request) => new Response(`hello ${new URL(request.url).hostname}`),
  );
  const httpClient = Deno.createHttpClient({ caCerts: [ca.certPem] });
  try {
    for (const host of ["127.0.0.1", "localhost"]) {
      const response = await fetch(`https://${host}:${listener.addr.port}/`, {
        client: httpClient,
      });
      assert.equal(await response.text(), `hello ${host}`);
    }
  } finally {
    httpClient.close();
    await listener.shutdown();
  }
});

Deno.test("a self-signed serving certificate is a chain its CA verifies, for every host given", async () => {
  const served = await createSelfSignedServingCertificate([
    "localhost",
    "127.0.0.1",
    "metrics.local",
  ]);
  const [leaf, issuer] = served.certPem.split(/(?<=-----END CERTIFICATE-----\n)/);
  assert.equal(issuer, served.caPem, "the leaf, then the CA that signed it");
  const parsed = new X509Certificate(leaf);
  assert.equal(parsed.subjectAltName, "DNS:localhost, DNS:metrics.local, IP Address:127.0.0.1");
  assert.ok(parsed.verify(new X509Certificate(served.caPem).publicKey));
  assert.match(parsed.issuer, /CN=localhost-ca@\d+/);
  const listener = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: served.certPem, key: served.keyPem, onListen() {} },
    () => new Response("ok"),
  );
  try {
    using trusting = Deno.createHttpClient({ caCerts: [served.caPem] });
    const response = await fetch(`https://localhost:${listener.addr.port}/`, { client: trusting });
    assert.equal(await response.text(), "ok");
    await assert.rejects(
      fetch(`https://127.0.0.1:${listener.addr.port}/`),
      "not trusted otherwise",
    );
  } finally {
    await listener.shutdown();
  }
  await assert.rejects(createSelfSignedServingCertificate([]), CertificateOptionsError);
});

Deno.test({
  name: "the IPv6 SAN is accepted on ::1",
  ignore: !hasIpv6Loopback,
  async fn() {
    const listener = Deno.serve(
      { hostname: "::1", port: 0, cert: server.certPem, key: server.keyPem, onListen() {} },
      () => new Response("hello v6"),
    );
    const httpClient = Deno.createHttpClient({ caCerts: [ca.certPem] });
    try {
      const response = await fetch(`https://[::1]:${listener.addr.port}/`, { client: httpClient });
      assert.equal(await response.text(), "hello v6");
    } finally {
      httpClient.close();
      await listener.shutdown();
    }
  },
});

Deno.test("a client trusting another CA rejects the server", async () => {
  const other = await createCertificateAuthority({ commonName: "kleff-test-ca" });
  const listener = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: server.certPem, key: server.keyPem, onListen() {} },
    () => new Response("unreachable"),
  );
  const httpClient = Deno.createHttpClient({ caCerts: [other.certPem] });
  try {
    await assert.rejects(fetch(`https://127.0.0.1:${listener.addr.port}/`, { client: httpClient }));
  } finally {
    httpClient.close();
    await listener.shutdown();
  }
});

Deno.test({
  name: "kubectl (Go crypto/x509) accepts the CA and the server certificate",
  ignore: !hasKubectl,
  async fn() {
    const version = { major: "1", minor: "32", gitVersion: "v1.32.0-kleff" };
    const listener = Deno.serve(
      { hostname: "127.0.0.1", port: 0, cert: server.certPem, key: server.keyPem, onListen() {} },
      (request) =>
        new URL(request.url).pathname === "/version"
          ? Response.json(version)
          : new Response("not found", { status: 404 }),
    );
    try {
      await withTempDir(async (dir) => {
        for (const host of ["127.0.0.1", "localhost"]) {
          const kubeconfig = {
            apiVersion: "v1",
            kind: "Config",
            clusters: [{
              name: "dev",
              cluster: {
                server: `https://${host}:${listener.addr.port}`,
                "certificate-authority-data": btoa(ca.certPem),
              },
            }],
            users: [{ name: "dev", user: { token: "unused" } }],
            contexts: [{ name: "dev", context: { cluster: "dev", user: "dev" } }],
            "current-context": "dev",
          };
          await Deno.writeTextFile(`${dir}/kubeconfig`, JSON.stringify(kubeconfig));
          const result = await run("kubectl", [
            "--kubeconfig",
            `${dir}/kubeconfig`,
            "--cache-dir",
            `${dir}/cache`,
            "--request-timeout=10s",
            "get",
            "--raw",
            "/version",
          ]);
          assert.equal(result.code, 0, result.stderr);
          assert.deepEqual(JSON.parse(result.stdout), version);
        }
      });
    } finally {
      await listener.shutdown();
    }
  },
});

Deno.test("bad options give clear errors", async () => {
  await assert.rejects(
    createCertificateAuthority({ commonName: "x", validDays: 0 }),
    CertificateOptionsError,
  );
  await assert.rejects(
    ca.issue({ commonName: "x", usage: "server", validDays: Number.NaN }),
    CertificateOptionsError,
  );
  await assert.rejects(
    ca.issue({ commonName: "x", usage: "server", ipAddresses: ["300.1.1.1"] }),
    InvalidIpAddressError,
  );
  await assert.rejects(
    ca.issue({ commonName: "x", usage: "server", dnsNames: ["bücher.example"] }),
    DerEncodingError,
  );
  await assert.rejects(
    ca.issue({ commonName: "x", usage: "both" as "server" }),
    CertificateOptionsError,
  );
});

Deno.test("a leaf never outlives its CA", async () => {
  const shortCa = await createCertificateAuthority({ commonName: "short", validDays: 2 });
  const leaf = await shortCa.issue({ commonName: "leaf", usage: "client", validDays: 365 });
  assert.equal(
    new X509Certificate(leaf.certPem).validTo,
    new X509Certificate(shortCa.certPem).validTo,
  );
});
