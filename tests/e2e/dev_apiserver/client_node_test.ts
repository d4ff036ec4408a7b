// The official JavaScript client works against the dev API server unchanged. The client runs in
// its own process from tools/node_client/ (its own deno.json and lockfile), so that
// @kubernetes/client-node never enters the operator's lockfile or image.
import assert from "node:assert/strict";
import type { ProbeReport, Scenario } from "../../../tools/node_client/probe_protocol.ts";
import { withDir } from "../../support/fs.ts";
import { createWidgetCrd, widget, withServer } from "./support.ts";

const NODE_CLIENT = new URL("../../../tools/node_client/", import.meta.url);

/** Runs tools/node_client/probe.ts with `kubeconfig` and `scenario`; returns its parsed report. */
async function runProbe(kubeconfig: string, scenario: Scenario): Promise<ProbeReport> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      new URL("deno.json", NODE_CLIENT).pathname,
      "--lock",
      new URL("deno.lock", NODE_CLIENT).pathname,
      "--frozen",
      "--allow-net=127.0.0.1",
      "--allow-env",
      `--allow-read=${kubeconfig}`,
      new URL("probe.ts", NODE_CLIENT).pathname,
      kubeconfig,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(scenario)));
  await writer.close();
  const output = await child.output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  assert.equal(output.code, 0, `probe failed:\n${decode(output.stderr)}`);
  return JSON.parse(decode(output.stdout));
}

Deno.test("client-node: list namespaces, create and get a custom object, watch a change", async () => {
  await withServer(async (server) => {
    await createWidgetCrd(server);
    await withDir(async (dir) => {
      const kubeconfig = `${dir}/kubeconfig`;
      await server.writeKubeconfig(kubeconfig);
      const report = await runProbe(kubeconfig, {
        target: {
          group: "example.kleff.io",
          version: "v1",
          namespace: "default",
          plural: "widgets",
        },
        object: widget("w1", { size: 2 }) as Scenario["object"],
        // client-node sends application/json-patch+json by default, like kube expects a JSON patch here
        patch: [{ op: "replace", path: "/spec/size", value: 4 }],
        missingName: "missing",
      });
      const { namespaces } = report;
      assert.ok(
        namespaces.includes("default") && namespaces.includes("kube-system"),
        namespaces.join(),
      );
      const created = report.created as { metadata: { name: string; uid?: string } };
      const got = report.got as { spec: { size: number }; metadata: { uid?: string } };
      assert.equal(created.metadata.name, "w1");
      assert.equal(got.spec.size, 2);
      assert.ok(got.metadata.uid, "the server's object, with its uid");
      assert.equal(got.metadata.uid, created.metadata.uid);
      assert.equal(report.missingCode, 404);
      const watched = report.watched as { type: string; object: { spec: { size: number } } };
      assert.deepEqual({ type: watched.type, size: watched.object.spec.size }, {
        type: "MODIFIED",
        size: 4,
      });
    });
    // Every call reached this server, with the verbs kube clients use.
    const count = (verb: "list" | "create" | "get" | "watch" | "patch", resource: string) =>
      server.counters.count({ verb, resource });
    assert.equal(count("list", "namespaces"), 1);
    assert.equal(count("create", "widgets"), 1);
    assert.equal(server.counters.count({ verb: "get", resource: "widgets", code: 200 }), 1);
    assert.equal(server.counters.count({ verb: "get", resource: "widgets", code: 404 }), 1);
    assert.equal(count("watch", "widgets"), 1);
    assert.equal(server.counters.count({ verb: "patch", resource: "widgets", code: 200 }), 1);
  });
});
