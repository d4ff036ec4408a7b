// `kubectl apply --server-side` on the playground (`deno task dev`, run as its own process): the
// real kubectl 1.32, a kubeconfig the test writes, the operator reconciling what was applied.
// Skipped, with a note, when kubectl is not on PATH.
import assert from "node:assert/strict";
import { onPath, withDir } from "../../support/fs.ts";
import { runTool, type ToolRun } from "../../support/tools.ts";
import { eventually } from "../../support/wait.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;
const KUBECTL = onPath("kubectl");
if (!KUBECTL) console.log("kubectl not found on PATH: the playground apply test is skipped");

/** Runs the real kubectl against `kubeconfig`. */
function kubectl(kubeconfig: string, args: string[], stdin?: string): Promise<ToolRun> {
  return runTool("kubectl", ["--kubeconfig", kubeconfig, ...args], { stdin });
}

/** Starts `deno task dev`'s playground on a free port; resolves once it printed its banner. */
async function startPlayground(kubeconfig: string): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys=hostname",
      "tools/playground.ts",
      "--port",
      "0",
      "--kubeconfig",
      kubeconfig,
      "--no-samples",
      "--log-level",
      "warning",
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let printed = "";
  while (!printed.includes("Ctrl-C stops")) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the playground exited before it was ready:\n${printed}`);
    printed += value;
  }
  // Keep draining stdout so the playground never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })();
  return child;
}

const TENANT = `apiVersion: kleff.kleff.io/v1
kind: Tenant
metadata:
  name: applied
spec:
  plan: basic
  userId: user-applied
  username: applier
`;

Deno.test({
  name: "playground: kubectl apply --server-side creates and changes a Tenant the operator serves",
  ignore: !KUBECTL,
  fn: () =>
    withDir(async (dir) => {
      const kubeconfig = `${dir}/kubeconfig`;
      const playground = await startPlayground(kubeconfig);
      try {
        const ok = async (args: string[], stdin?: string) => {
          const run = await kubectl(kubeconfig, args, stdin);
          assert.equal(run.code, 0, `kubectl ${args.join(" ")}: ${run.stderr}`);
          return run.stdout;
        };
        assert.match(
          await ok(["apply", "--server-side", "-f", "-"], TENANT),
          /tenant.kleff.kleff.io\/applied serverside-applied/,
        );
        await ok(["wait", "--for=condition=TenantReady", "tenant/applied", "--timeout=30s"]);
        assert.match(
          await ok(["get", "ns", "user-applied", "--show-labels"]),
          /kleff.io\/tenant-plan=basic/,
        );
        const ready = JSON.parse(
          await ok(["get", "tenant", "applied", "-o", "json", "--show-managed-fields"]),
        );
        const owners = ready.metadata.managedFields.map(
          (e: { manager: string; operation: string; subresource?: string }) =>
            `${e.manager}/${e.operation}${e.subresource ? `/${e.subresource}` : ""}`,
        );
        assert.ok(owners.includes("kubectl/Apply"), owners.join(", "));
        assert.ok(owners.includes("kleff-tenant-operator/Update/status"), owners.join(", "));
        assert.match(
          await ok(["apply", "--server-side", "-f", "-"], TENANT),
          /serverside-applied/,
        );
        const again = JSON.parse(await ok(["get", "tenant", "applied", "-o", "json"]));
        assert.equal(
          again.metadata.resourceVersion,
          ready.metadata.resourceVersion,
          "applying the same file again writes nothing",
        );
        await ok(["apply", "--server-side", "-f", "-"], TENANT.replace("plan: basic", "plan: pro"));
        await eventually("the namespace follows the applied plan", async () => {
          const labels = await ok([
            "get",
            "ns",
            "user-applied",
            "-o",
            "jsonpath={.metadata.labels}",
          ]);
          return JSON.parse(labels)["kleff.io/tenant-plan"] === "pro";
        });
        await ok(["delete", "tenant", "applied", "--timeout=30s"]);
        assert.notEqual((await kubectl(kubeconfig, ["get", "tenant", "applied"])).code, 0);
      } finally {
        playground.kill("SIGTERM");
        await playground.status;
      }
    }),
});
