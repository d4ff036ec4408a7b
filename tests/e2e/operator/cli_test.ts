// The operator's command line as a user meets it: help, bad flags, broken kubeconfigs.
import assert from "node:assert/strict";
import { HELP } from "../../../lib/operator/options.ts";
import { OperatorProcess } from "../../support/operator_process.ts";

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
