// Credentials: token file re-reads, exec plugins (v1/v1beta1, env, args, interactive modes, caching, failures) without leaking secrets.
import assert from "node:assert/strict";
import { CredentialProvider } from "../../../lib/client/credentials.ts";
import { CredentialError, type ExecConfig } from "../../../lib/client/mod.ts";
import { withDir } from "../../support/fs.ts";

const PLUGIN = new URL("../../fixtures/exec_plugin.sh", import.meta.url).pathname;

function exec(
  dir: string,
  overrides: Partial<ExecConfig> = {},
  env: Record<string, string> = {},
): ExecConfig {
  return {
    apiVersion: "client.authentication.k8s.io/v1",
    command: PLUGIN,
    args: ["get-token", "--flag"],
    env: { PLUGIN_STATE: dir, PLUGIN_TOKEN_PREFIX: "plugin-token-", ...env },
    interactiveMode: "Never",
    provideClusterInfo: false,
    origin: { file: "/k/config", context: "ctx", user: "u" },
    cluster: { server: "https://k:6443", certificateAuthorityData: "Q0E=" },
    ...overrides,
  };
}

Deno.test("token file: cached for the refresh period, re-read after it and after invalidate()", async () => {
  await withDir(async (dir) => {
    let now = 1_000;
    await Deno.writeTextFile(`${dir}/token`, "first\n");
    const provider = new CredentialProvider({ kind: "tokenFile", path: `${dir}/token` }, {
      tokenFileRefreshMs: 60_000,
      now: () => now,
    });
    assert.equal((await provider.get()).authorization, "Bearer first");
    await Deno.writeTextFile(`${dir}/token`, "second");
    now += 59_000;
    assert.equal((await provider.get()).authorization, "Bearer first");
    now += 2_000;
    assert.equal((await provider.get()).authorization, "Bearer second");
    await Deno.writeTextFile(`${dir}/token`, "third");
    provider.invalidate();
    assert.equal((await provider.get()).authorization, "Bearer third");
    await Deno.writeTextFile(`${dir}/token`, "  \n");
    provider.invalidate();
    await assert.rejects(
      provider.get(),
      (e: Error) => e instanceof CredentialError && /is empty/.test(e.message),
    );
  });
});

Deno.test("exec plugin v1: gets KUBERNETES_EXEC_INFO, env and args; result cached until expirationTimestamp", async () => {
  await withDir(async (dir) => {
    let now = Date.parse("2030-01-01T00:00:00Z");
    const provider = new CredentialProvider(
      {
        kind: "exec",
        exec: exec(dir, { provideClusterInfo: true }, { PLUGIN_EXPIRES: "2030-01-01T00:10:00Z" }),
      },
      { now: () => now, stdinIsTerminal: () => true },
    );
    assert.equal((await provider.get()).authorization, "Bearer plugin-token-1");
    const info = JSON.parse(await Deno.readTextFile(`${dir}/info.json`));
    assert.deepEqual(info, {
      apiVersion: "client.authentication.k8s.io/v1",
      kind: "ExecCredential",
      spec: {
        interactive: false,
        cluster: { server: "https://k:6443", certificateAuthorityData: "Q0E=" },
      },
    });
    assert.equal(await Deno.readTextFile(`${dir}/args`), "get-token\n--flag\n");
    now += 9 * 60_000;
    assert.equal((await provider.get()).authorization, "Bearer plugin-token-1");
    now += 2 * 60_000;
    assert.equal((await provider.get()).authorization, "Bearer plugin-token-2");
    provider.invalidate();
    assert.equal(
      (await provider.get()).authorization,
      "Bearer plugin-token-3",
      "re-run after a 401",
    );
  });
});

Deno.test("exec plugin v1beta1 with IfAvailable: interactive only when stdin is a terminal; Always without one fails", async () => {
  await withDir(async (dir) => {
    const beta = exec(dir, {
      apiVersion: "client.authentication.k8s.io/v1beta1",
      interactiveMode: "IfAvailable",
    });
    await new CredentialProvider({ kind: "exec", exec: beta }, { stdinIsTerminal: () => false })
      .get();
    let info = JSON.parse(await Deno.readTextFile(`${dir}/info.json`));
    assert.equal(info.apiVersion, "client.authentication.k8s.io/v1beta1");
    assert.equal(info.spec.interactive, false);
    assert.equal(info.spec.cluster, undefined);
    await new CredentialProvider({ kind: "exec", exec: beta }, { stdinIsTerminal: () => true })
      .get();
    info = JSON.parse(await Deno.readTextFile(`${dir}/info.json`));
    assert.equal(info.spec.interactive, true);
    const always = new CredentialProvider({
      kind: "exec",
      exec: exec(dir, { interactiveMode: "Always" }),
    }, {
      stdinIsTerminal: () => false,
    });
    await assert.rejects(always.get(), /interactiveMode Always but stdin is not a terminal/);
  });
});

Deno.test("exec plugin returning a client certificate", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/cert.pem`,
      "-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----",
    );
    await Deno.writeTextFile(
      `${dir}/key.pem`,
      "-----BEGIN PRIVATE KEY-----\nBB\n-----END PRIVATE KEY-----",
    );
    const credentials = await new CredentialProvider({
      kind: "exec",
      exec: exec(dir, {}, { PLUGIN_MODE: "cert" }),
    })
      .get();
    assert.equal(credentials.authorization, undefined);
    assert.match(credentials.clientCertPem!, /BEGIN CERTIFICATE-----\nAA\n/);
    assert.match(credentials.clientKeyPem!, /BEGIN PRIVATE KEY/);
  });
});

for (
  const [mode, message, extra] of [
    ["fail", /exited with code 3 \(\d+ bytes on stderr, not shown\)/, {}],
    ["garbage", /printed \d+ bytes that are not JSON \(not shown\)/, {}],
    ["noStatus", /output has no status/, {}],
    ["token", /output apiVersion "client.authentication.k8s.io\/v1beta1" differs/, {
      PLUGIN_API_VERSION: "client.authentication.k8s.io/v1beta1",
    }],
    ["token", /expirationTimestamp is not an RFC 3339 time/, { PLUGIN_EXPIRES: "tomorrow" }],
  ] as const
) {
  Deno.test(`a broken exec plugin (${mode}${Object.keys(extra).length ? ", " + Object.keys(extra)[0] : ""}) is a clear error without its output`, async () => {
    await withDir(async (dir) => {
      const provider = new CredentialProvider({
        kind: "exec",
        exec: exec(dir, {}, { PLUGIN_MODE: mode, ...extra }),
      });
      const error = await provider.get().then(() => undefined, (e) => e);
      assert.ok(error instanceof CredentialError, String(error));
      assert.match(error.message, message);
      assert.match(error.message, /exec plugin .*exec_plugin\.sh \(user "u", file \/k\/config\)/);
      assert.ok(!/plugin-secret|plugin-token/.test(error.message), error.message);
    });
  });
}

Deno.test("an exec plugin command that does not exist shows the install hint", async () => {
  const provider = new CredentialProvider({
    kind: "exec",
    exec: exec("/nonexistent", {
      command: "/nonexistent/kube-login",
      installHint: "Install kube-login first.",
    }),
  });
  await assert.rejects(provider.get(), /command not found\. Install kube-login first\./);
});
