// The official Kubernetes Python client (Debian's python3-kubernetes) works against the dev API
// server: it sends `?watch=True`, expects DELETE's Status and pages with continue tokens. Skipped,
// with a note, when no Python on this machine can import it (`.ci/run` installs it with apt).
import assert from "node:assert/strict";
import { withDir } from "../../support/fs.ts";
import { withServer } from "./support.ts";

const SCRIPT = new URL("../../fixtures/python_client.py", import.meta.url).pathname;

/** The first Python that can import the client: PATH's, else Debian's own (pyenv hides it). */
function findPython(): string | undefined {
  for (const python of ["python3", "/usr/bin/python3"]) {
    try {
      const probe = new Deno.Command(python, {
        args: ["-c", "import kubernetes"],
        stdout: "null",
        stderr: "null",
      }).outputSync();
      if (probe.success) return python;
    } catch {
      // not installed: try the next one
    }
  }
  return undefined;
}

const PYTHON = findPython();
if (!PYTHON) {
  console.log("python3-kubernetes not importable: the Python client test is skipped");
}

Deno.test({
  name: "python client: list, create, page, Watch().stream and delete",
  ignore: !PYTHON,
  fn: () =>
    withServer((server) =>
      withDir(async (dir) => {
        const kubeconfig = `${dir}/kubeconfig`;
        await server.writeKubeconfig(kubeconfig);
        const output = await new Deno.Command(PYTHON!, {
          args: [SCRIPT, kubeconfig],
          stdout: "piped",
          stderr: "piped",
        }).output();
        const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
        assert.equal(output.code, 0, `python client failed:\n${decode(output.stderr)}`);
        const report = JSON.parse(decode(output.stdout));
        assert.ok(report.namespaces.includes("default"));
        assert.deepEqual(report.pages, [["py-a"], ["py-b"]]);
        assert.deepEqual(report.events, [["ADDED", "py-c"], ["ADDED", "py-d"]]);
        assert.deepEqual(report.deleted, {
          status: "Success",
          kind: "configmaps",
          name: "py-a",
          uid_matches: true,
        });
        assert.deepEqual(report.remaining, ["py-b", "py-c", "py-d"]);
        assert.ok(
          server.counters.count({ verb: "watch", resource: "configmaps" }) >= 1,
          "the client's ?watch=True was served as a watch",
        );
      })
    ),
});
