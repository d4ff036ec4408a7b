// Kubeconfig loading: KUBECONFIG merging, relative paths, in-cluster, and every broken-configuration case.
import assert from "node:assert/strict";
import {
  KubeconfigError,
  loadConnectionConfig,
  loadInClusterConfig,
} from "../../../lib/client/mod.ts";
import { withDir } from "../../support/fs.ts";

const CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n";
const SECRET = "s3cret-token-value";

function envOf(vars: Record<string, string>): (name: string) => string | undefined {
  return (name) => vars[name];
}

function config(
  parts: { clusters?: unknown[]; users?: unknown[]; contexts?: unknown[]; current?: string },
): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: parts.clusters ?? [],
    users: parts.users ?? [],
    contexts: parts.contexts ?? [],
    "current-context": parts.current,
  });
}

const base = (
  user: Record<string, unknown> = { token: SECRET },
  cluster: Record<string, unknown> = {},
) =>
  config({
    clusters: [{ name: "c", cluster: { server: "https://k.example:6443", ...cluster } }],
    users: [{ name: "u", user }],
    contexts: [{ name: "ctx", context: { cluster: "c", user: "u", namespace: "team" } }],
    current: "ctx",
  });

Deno.test("KUBECONFIG list merges with the first file winning, current-context from the first that sets it", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/a`,
      config({
        clusters: [{ name: "c", cluster: { server: "https://first:6443" } }],
        contexts: [{ name: "one", context: { cluster: "c", user: "u" } }],
      }),
    );
    await Deno.writeTextFile(
      `${dir}/b`,
      config({
        clusters: [{ name: "c", cluster: { server: "https://second:6443" } }, {
          name: "d",
          cluster: { server: "http://other:8080" },
        }],
        users: [{ name: "u", user: { token: "from-b" } }],
        contexts: [{ name: "two", context: { cluster: "d", user: "u", namespace: "ns2" } }],
        current: "one",
      }),
    );
    await Deno.writeTextFile(`${dir}/c`, config({ current: "two" }));
    const env = envOf({ KUBECONFIG: `${dir}/a:${dir}/missing:${dir}/b:${dir}/c` });
    const first = await loadConnectionConfig({ env });
    assert.equal(first.server, "https://first:6443");
    assert.deepEqual(first.auth, { kind: "token", token: "from-b" });
    assert.equal(first.namespace, "default");
    assert.deepEqual(first.source, {
      kind: "kubeconfig",
      files: [`${dir}/a`, `${dir}/b`, `${dir}/c`],
      context: "one",
    });
    const second = await loadConnectionConfig({ env, context: "two" });
    assert.equal(second.server, "http://other:8080");
    assert.equal(second.namespace, "ns2");
  });
});

Deno.test("--kubeconfig overrides KUBECONFIG; ~/.kube/config is the default", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/.kube`);
    await Deno.writeTextFile(`${dir}/.kube/config`, base());
    await Deno.writeTextFile(`${dir}/other`, base({}, { server: "https://explicit:1" }));
    assert.equal(
      (await loadConnectionConfig({ env: envOf({ HOME: dir }) })).server,
      "https://k.example:6443",
    );
    const explicit = await loadConnectionConfig({
      kubeconfig: `${dir}/other`,
      env: envOf({ HOME: dir, KUBECONFIG: `${dir}/.kube/config` }),
    });
    assert.equal(explicit.server, "https://explicit:1");
  });
});

Deno.test("relative file references resolve against the kubeconfig's own folder; data fields decode", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/conf/certs`, { recursive: true });
    await Deno.writeTextFile(`${dir}/conf/certs/ca.crt`, CERT);
    await Deno.writeTextFile(`${dir}/conf/certs/client.key`, KEY);
    await Deno.writeTextFile(`${dir}/conf/token`, SECRET);
    await Deno.writeTextFile(
      `${dir}/conf/config`,
      base({
        "client-certificate-data": btoa(CERT),
        "client-key": "certs/client.key",
        tokenFile: "./token",
      }, {
        "certificate-authority": "certs/ca.crt",
        "tls-server-name": "api.internal",
      }),
    );
    const loaded = await loadConnectionConfig({ kubeconfig: `${dir}/conf/config`, env: envOf({}) });
    assert.equal(loaded.caPem, CERT);
    assert.equal(loaded.clientCertPem, CERT);
    assert.equal(loaded.clientKeyPem, KEY);
    assert.equal(loaded.tlsServerName, "api.internal");
    assert.deepEqual(loaded.auth, { kind: "tokenFile", path: `${dir}/conf/token` });
  });
});

Deno.test("exec plugin config: command with a path separator resolves, v1beta1 defaults to IfAvailable", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/config`,
      base({
        exec: {
          apiVersion: "client.authentication.k8s.io/v1beta1",
          command: "./bin/plugin",
          args: ["get-token"],
          env: [{ name: "A", value: "1" }],
          provideClusterInfo: true,
        },
      }),
    );
    const loaded = await loadConnectionConfig({ kubeconfig: `${dir}/config`, env: envOf({}) });
    assert.equal(loaded.auth.kind, "exec");
    if (loaded.auth.kind !== "exec") return;
    assert.equal(loaded.auth.exec.command, `${dir}/bin/plugin`);
    assert.equal(loaded.auth.exec.interactiveMode, "IfAvailable");
    assert.deepEqual(loaded.auth.exec.env, { A: "1" });
    assert.equal(loaded.auth.exec.cluster.server, "https://k.example:6443");
  });
});

Deno.test("in-cluster: env vars (IPv6 bracketed), token path, CA and namespace from the service account folder", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/token`, SECRET);
    await Deno.writeTextFile(`${dir}/ca.crt`, CERT);
    await Deno.writeTextFile(`${dir}/namespace`, "kleff-system\n");
    const v6 = await loadInClusterConfig({
      env: envOf({ KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" }),
      serviceAccountDir: dir,
    });
    assert.equal(v6.server, "https://[fd00::1]");
    assert.equal(v6.namespace, "kleff-system");
    assert.equal(v6.caPem, CERT);
    assert.deepEqual(v6.auth, { kind: "tokenFile", path: `${dir}/token` });
    // No kubeconfig anywhere: falls back to in-cluster.
    const fallback = await loadConnectionConfig({
      env: envOf({
        HOME: dir,
        KUBERNETES_SERVICE_HOST: "10.0.0.1",
        KUBERNETES_SERVICE_PORT: "6443",
      }),
      serviceAccountDir: dir,
    });
    assert.equal(fallback.server, "https://10.0.0.1:6443");
  });
});

interface BrokenCase {
  name: string;
  write: (dir: string) => Promise<void>;
  options?: { context?: string; env?: Record<string, string> };
  expect: RegExp;
  field?: string;
}

const brokenCases: BrokenCase[] = [
  {
    name: "unreadable file",
    write: () => Promise.resolve(),
    expect: /cannot read the file \(NotFound\)/,
  },
  {
    name: "invalid YAML (the offending line, holding a token, is not quoted)",
    write: (dir) =>
      Deno.writeTextFile(`${dir}/config`, `users:\n- name: u\n  user: {token: ${SECRET}\n`),
    expect: /invalid YAML at line \d+, column \d+/,
  },
  {
    name: "document that is not a mapping",
    write: (dir) => Deno.writeTextFile(`${dir}/config`, "- a\n- b\n"),
    expect: /not a mapping/,
  },
  {
    name: "no such context",
    write: (dir) => Deno.writeTextFile(`${dir}/config`, base()),
    options: { context: "nope" },
    expect: /context "nope" does not exist/,
    field: "--context",
  },
  {
    name: "current-context unset",
    write: (dir) =>
      Deno.writeTextFile(
        `${dir}/config`,
        config({ contexts: [{ name: "ctx", context: { cluster: "c" } }] }),
      ),
    expect: /no context selected/,
    field: "current-context",
  },
  {
    name: "context names a missing cluster",
    write: (dir) =>
      Deno.writeTextFile(
        `${dir}/config`,
        config({ contexts: [{ name: "ctx", context: { cluster: "gone" } }], current: "ctx" }),
      ),
    expect: /cluster "gone" does not exist/,
    field: "contexts[ctx].context.cluster",
  },
  {
    name: "context names a missing user",
    write: (dir) =>
      Deno.writeTextFile(
        `${dir}/config`,
        config({
          clusters: [{ name: "c", cluster: { server: "https://x" } }],
          contexts: [{ name: "ctx", context: { cluster: "c", user: "ghost" } }],
          current: "ctx",
        }),
      ),
    expect: /user "ghost" does not exist/,
  },
  {
    name: "server missing",
    write: (dir) =>
      Deno.writeTextFile(`${dir}/config`, base({ token: SECRET }, { server: undefined })),
    expect: /no server set/,
    field: "clusters[c].cluster.server",
  },
  {
    name: "bad base64 in certificate-authority-data",
    write: (dir) =>
      Deno.writeTextFile(
        `${dir}/config`,
        base({ token: SECRET }, { "certificate-authority-data": "%%%not-base64" }),
      ),
    expect: /is not valid base64/,
    field: "clusters[c].cluster.certificate-authority-data",
  },
  {
    name: "bad base64 in client-key-data (the key is not quoted)",
    write: (dir) =>
      Deno.writeTextFile(
        `${dir}/config`,
        base({ "client-certificate-data": btoa(CERT), "client-key-data": `${SECRET}!!` }),
      ),
    expect: /is not valid base64/,
    field: "users[u].user.client-key-data",
  },
  {
    name: "base64 that is not PEM",
    write: (dir) =>
      Deno.writeTextFile(
        `${dir}/config`,
        base({ token: SECRET }, { "certificate-authority-data": btoa("hello") }),
      ),
    expect: /does not hold a PEM CERTIFICATE/,
  },
  {
    name: "missing CA file",
    write: (dir) =>
      Deno.writeTextFile(
        `${dir}/config`,
        base({ token: SECRET }, { "certificate-authority": "nope/ca.crt" }),
      ),
    expect: /cannot read the file \(NotFound\), referenced from/,
    field: "clusters[c].cluster.certificate-authority",
  },
  {
    name: "client certificate without key",
    write: (dir) =>
      Deno.writeTextFile(`${dir}/config`, base({ "client-certificate-data": btoa(CERT) })),
    expect: /must be given together/,
  },
  {
    name: "missing token file",
    write: (dir) => Deno.writeTextFile(`${dir}/config`, base({ tokenFile: "no-token" })),
    expect: /cannot read .*no-token/,
    field: "users[u].user.tokenFile",
  },
  {
    name: "exec plugin with an unknown apiVersion",
    write: (dir) =>
      Deno.writeTextFile(
        `${dir}/config`,
        base({ exec: { apiVersion: "client.authentication.k8s.io/v1alpha1", command: "x" } }),
      ),
    expect: /apiVersion must be one of/,
    field: "users[u].user.exec.apiVersion",
  },
  {
    name: "exec plugin v1 without interactiveMode",
    write: (dir) =>
      Deno.writeTextFile(
        `${dir}/config`,
        base({ exec: { apiVersion: "client.authentication.k8s.io/v1", command: "x" } }),
      ),
    expect: /interactiveMode must be/,
  },
  {
    name: "server with credentials that does not parse (the credentials are not shown)",
    write: (dir) =>
      Deno.writeTextFile(
        `${dir}/config`,
        base({}, { server: `https://alice:${SECRET}@k .example:6443` }),
      ),
    expect: /server "https:\/\/xxxxx@k \.example:6443" is not a URL/,
    field: "clusters[c].cluster.server",
  },
  {
    name: "server with credentials and another scheme (the credentials are not shown)",
    write: (dir) =>
      Deno.writeTextFile(`${dir}/config`, base({}, { server: `ftp://${SECRET}@k.example` })),
    expect: /server "ftp:\/\/xxxxx@k\.example" must be http or https/,
  },
  {
    name: "insecure-skip-tls-verify with certificate-authority-data (refused like kubectl)",
    write: (dir) =>
      Deno.writeTextFile(
        `${dir}/config`,
        base({ token: SECRET }, {
          "insecure-skip-tls-verify": true,
          "certificate-authority-data": btoa(CERT),
        }),
      ),
    expect: /: specifying a root certificates file with the insecure flag is not allowed$/,
    field: "clusters[c].cluster.insecure-skip-tls-verify",
  },
  {
    name: "insecure-skip-tls-verify with a certificate-authority file",
    write: async (dir) => {
      await Deno.writeTextFile(`${dir}/ca.crt`, CERT);
      await Deno.writeTextFile(
        `${dir}/config`,
        base({ token: SECRET }, {
          "insecure-skip-tls-verify": true,
          "certificate-authority": "ca.crt",
        }),
      );
    },
    expect: /specifying a root certificates file with the insecure flag is not allowed/,
  },
  {
    name: "auth-provider",
    write: (dir) => Deno.writeTextFile(`${dir}/config`, base({ "auth-provider": { name: "gcp" } })),
    expect: /auth-provider plugins are not supported/,
  },
];

for (const broken of brokenCases) {
  Deno.test(`broken kubeconfig: ${broken.name}`, async () => {
    await withDir(async (dir) => {
      await broken.write(dir);
      const error = await loadConnectionConfig({
        kubeconfig: `${dir}/config`,
        context: broken.options?.context,
        env: envOf({}),
      }).then(() => undefined, (e) => e);
      assert.ok(error instanceof KubeconfigError, `expected KubeconfigError, got ${error}`);
      assert.match(error.message, broken.expect);
      assert.match(error.message, new RegExp(`file ${dir}`));
      if (broken.field) assert.equal(error.field, broken.field);
      assert.ok(!error.message.includes(SECRET), `secret leaked: ${error.message}`);
      assert.ok(!error.message.includes("MHcC"), "key material leaked");
    });
  });
}

Deno.test("broken in-cluster configuration is a clear error", async () => {
  await withDir(async (dir) => {
    await assert.rejects(
      loadInClusterConfig({
        env: envOf({ KUBERNETES_SERVICE_HOST: "10.0.0.1" }),
        serviceAccountDir: dir,
      }),
      /needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT/,
    );
    await assert.rejects(
      loadInClusterConfig({
        env: envOf({ KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" }),
        serviceAccountDir: dir,
      }),
      (e: Error) => e instanceof KubeconfigError && e.message.includes(`${dir}/token`),
    );
    await assert.rejects(
      loadConnectionConfig({ env: envOf({ HOME: dir }) }),
      /no kubeconfig found .* not running in a cluster/,
    );
  });
});

Deno.test("credentials in the server URL authenticate as kubectl's do and never stay in the address", async () => {
  await withDir(async (dir) => {
    const load = async (user: Record<string, unknown>) => {
      await Deno.writeTextFile(
        `${dir}/config`,
        base(user, { server: `https://alice:${SECRET}%40x@k.example:6443/prefix` }),
      );
      return await loadConnectionConfig({ kubeconfig: `${dir}/config`, env: envOf({}) });
    };
    const basic = await load({});
    assert.equal(basic.server, "https://k.example:6443/prefix");
    assert.deepEqual(basic.auth, { kind: "basic", username: "alice", password: `${SECRET}@x` });
    const token = await load({ token: "other-token" });
    assert.equal(token.server, "https://k.example:6443/prefix");
    assert.deepEqual(token.auth, { kind: "token", token: "other-token" }, "the user's own wins");
    const exec = await load({
      exec: {
        apiVersion: "client.authentication.k8s.io/v1",
        command: "get-token",
        interactiveMode: "Never",
      },
    });
    assert.equal(
      exec.auth.kind === "exec" && exec.auth.exec.cluster.server,
      "https://k.example:6443/prefix",
    );
    assert.ok(!JSON.stringify({ ...exec, auth: undefined }).includes(SECRET));
  });
});
