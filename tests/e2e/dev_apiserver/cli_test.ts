// The dev API server's command line: serving, the kubeconfig it writes, signals and flags.
import assert from "node:assert/strict";
import { eventually } from "../../support/wait.ts";

const MAIN = new URL("../../../dev_apiserver/main.ts", import.meta.url).pathname;

Deno.test("cli: serves, writes a kubeconfig and stops cleanly on SIGTERM", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kleff-cli-" });
  const kubeconfig = `${dir}/dev.kubeconfig`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      MAIN,
      "--port",
      "0",
      "--kubeconfig",
      kubeconfig,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    const config: { clusters: { cluster: { server: string } }[] } = await eventually(
      "the kubeconfig written",
      async () => JSON.parse(await Deno.readTextFile(kubeconfig)),
    );
    const response = await fetch(`${config.clusters[0].cluster.server}/api/v1/namespaces/default`);
    assert.equal(response.status, 200);
    await response.body?.cancel();
    child.kill("SIGTERM");
    const status = await child.status;
    assert.equal(status.code, 0);
  } finally {
    await child.stderr.cancel().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: --help prints usage and bad flags exit 2", async () => {
  const run = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", MAIN, ...args],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(new TextDecoder().decode(help.stdout), /--history-limit/);
  const bad = await run(["--port", "abc"]);
  assert.equal(bad.code, 2);
  assert.match(new TextDecoder().decode(bad.stderr), /--port/);
});
