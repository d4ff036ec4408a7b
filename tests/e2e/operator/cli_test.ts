// The operator's command line as a user meets it: help, bad flags, broken kubeconfigs, and
// credentials that must never reach its log.
import assert from "node:assert/strict";
import { HELP } from "../../../lib/operator/options.ts";
import { OperatorProcess } from "../../support/operator_process.ts";
import { parse } from "yaml";
import { startDevApiServer } from "../../../dev_apiserver/mod.ts";
import { DEPLOY_DIR } from "../../support/operator_env.ts";

async function run(args: string[]): Promise<{ code: number; lines: string[]; stdout: string }> {
  const operator = new OperatorProcess(args);
  const code = await operator.exited();
  return {
    code,
    lines: [...operator.lines.map((line) => line.message), ...operator.unparsed],
    stdout: await operator.stdout,
  };
}

Deno.test("--help prints every flag and exits 0; a bad flag exits 2 naming it", async () => {
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.equal(help.stdout, `${HELP}\n`);
  const bad = await run(["--concurrency", "zero"]);
  assert.equal(bad.code, 2);
  assert.match(bad.lines.join("\n"), /--concurrency: must be a whole number/);
  const unknown = await run(["--no-such-flag"]);
  assert.equal(unknown.code, 2);
});

Deno.test("a broken kubeconfig exits 1 with an error naming the file, context and field", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/config`;
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{
          name: "c",
          cluster: { server: "https://x", "certificate-authority-data": "!!" },
        }],
        users: [{ name: "u", user: { token: "s3cr3t-token" } }],
        contexts: [{ name: "ctx", context: { cluster: "c", user: "u" } }],
        "current-context": "ctx",
      }),
    );
    const broken = await run(["--kubeconfig", path]);
    assert.equal(broken.code, 1);
    const text = broken.lines.join("\n");
    assert.match(text, new RegExp(path.replace(/[/.]/g, "\\$&")));
    assert.match(text, /ctx/);
    assert.match(text, /certificate-authority-data/);
    assert.doesNotMatch(text, /s3cr3t-token/);
    const noContext = await run(["--kubeconfig", path, "--context", "nope"]);
    assert.equal(noContext.code, 1);
    assert.match(noContext.lines.join("\n"), /nope/);
    const missing = await run(["--kubeconfig", `${dir}/absent`]);
    assert.equal(missing.code, 1);
    assert.match(missing.lines.join("\n"), /absent/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("credentials in the server URL never reach the log, from the start-up line on", async () => {
  // A server that asks for no credentials: the operator runs normally, sending them as basic auth.
  await using server = await startDevApiServer();
  const crd = parse(await Deno.readTextFile(new URL("crd.yaml", DEPLOY_DIR)));
  await fetch(`${server.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(crd),
  }).then((response) => response.body?.cancel());
  const secret = "s3cr3t-url-token";
  const url = new URL(server.url);
  const kubeconfig = structuredClone(server.kubeconfig);
  kubeconfig.clusters[0].cluster.server = `http://kleff:${secret}@${url.host}`;
  kubeconfig.users[0].user = {};
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/kubeconfig`, JSON.stringify(kubeconfig));
  const operator = new OperatorProcess([
    "--kubeconfig",
    `${dir}/kubeconfig`,
    "--health-probe-bind-address",
    "0",
    "--metrics-bind-address",
    "0",
  ]);
  try {
    const connected = await operator.waitForLog(/^connected to/);
    assert.equal(connected.message, `connected to http://${url.host}`);
    assert.equal(connected.properties?.server, `http://${url.host}`);
    await operator.waitForLog(/^tenant controller started/);
  } finally {
    operator.kill("SIGTERM");
    assert.equal(await operator.exited(), 0);
    await Deno.remove(dir, { recursive: true });
  }
  const everything = [...operator.lines.map((line) => JSON.stringify(line)), ...operator.unparsed];
  for (const line of everything) assert.ok(!line.includes(secret), `leaked: ${line}`);
});
