// Drives the real kubectl against the dev API server; skipped (with a note) when kubectl is absent.
import assert from "node:assert/strict";
import { type DevApiServer, startDevApiServer } from "../../../dev_apiserver/mod.ts";
import { eventually } from "../../support/wait.ts";

const FIXTURES = new URL("../../fixtures/", import.meta.url).pathname;

function hasKubectl(): boolean {
  try {
    return new Deno.Command("kubectl", {
      args: ["version", "--client"],
      stdout: "null",
      stderr: "null",
    })
      .outputSync().success;
  } catch {
    return false;
  }
}

const KUBECTL = hasKubectl();
if (!KUBECTL) console.log("kubectl not found on PATH: kubectl compatibility tests are skipped");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

class Kubectl {
  readonly dir: string;
  readonly server: DevApiServer;

  constructor(dir: string, server: DevApiServer) {
    this.dir = dir;
    this.server = server;
  }

  static async start(): Promise<Kubectl> {
    const dir = await Deno.makeTempDir({ prefix: "kleff-kubectl-" });
    const server = await startDevApiServer();
    await server.writeKubeconfig(`${dir}/kubeconfig`);
    return new Kubectl(dir, server);
  }

  async run(args: string[], stdin?: string): Promise<Run> {
    const command = new Deno.Command("kubectl", {
      args: ["--kubeconfig", `${this.dir}/kubeconfig`, "--cache-dir", `${this.dir}/cache`, ...args],
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    });
    const child = command.spawn();
    if (stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(stdin));
      await writer.close();
    }
    const output = await child.output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
  }

  async ok(args: string[], stdin?: string): Promise<string> {
    const result = await this.run(args, stdin);
    assert.equal(result.code, 0, `kubectl ${args.join(" ")} failed: ${result.stderr}`);
    return result.stdout;
  }

  async stop(): Promise<void> {
    await this.server.close();
    await Deno.remove(this.dir, { recursive: true });
  }
}

async function withKubectl(fn: (k: Kubectl) => Promise<void>): Promise<void> {
  const k = await Kubectl.start();
  try {
    await fn(k);
  } finally {
    await k.stop();
  }
}

Deno.test({
  name: "kubectl: apply a CRD, then create/get/list/patch/label/describe/delete a custom object",
  ignore: !KUBECTL,
  fn: () =>
    withKubectl(async (k) => {
      assert.match(
        await k.ok(["apply", "-f", `${FIXTURES}widget_crd.yaml`]),
        /widgets.example.kleff.io created/,
      );
      await k.ok([
        "wait",
        "--for=condition=Established",
        "crd/widgets.example.kleff.io",
        "--timeout=10s",
      ]);
      assert.match(
        await k.ok(["create", "-f", `${FIXTURES}widget.yaml`]),
        /widget.example.kleff.io\/w1 created/,
      );
      const table = await k.ok(["get", "widgets"]);
      assert.match(table, /NAME\s+SIZE\s+READY\s+AGE/);
      assert.match(table, /w1\s+3\s+/);
      const json = JSON.parse(await k.ok(["get", "wd", "w1", "-o", "json"]));
      assert.equal(json.spec.color, "red");
      assert.match(await k.ok(["get", "widgets", "-A"]), /default\s+w1/);
      await k.ok(["patch", "widget", "w1", "--type", "merge", "-p", '{"spec":{"size":5}}']);
      await k.ok(["label", "widget", "w1", "team=blue"]);
      const labelled = await k.ok(["get", "widgets", "-l", "team=blue", "--show-labels"]);
      assert.match(labelled, /w1\s+5\s+.*team=blue/);
      await k.ok(["apply", "-f", `${FIXTURES}widget.yaml`]);
      assert.match(await k.ok(["get", "wd", "w1", "-o", "jsonpath={.spec.size}"]), /^3$/);
      const described = await k.ok(["describe", "widget", "w1"]);
      assert.match(described, /Name:\s+w1/);
      assert.match(described, /Size:\s+3/);
      assert.match(await k.ok(["delete", "widget", "w1"]), /deleted/);
      const none = await k.run(["get", "widget", "w1"]);
      assert.notEqual(none.code, 0);
      assert.match(none.stderr, /NotFound/);
    }),
});

Deno.test({
  name: "kubectl: an invalid object is rejected with the field errors printed",
  ignore: !KUBECTL,
  fn: () =>
    withKubectl(async (k) => {
      await k.ok(["apply", "-f", `${FIXTURES}widget_crd.yaml`]);
      const bad = JSON.stringify({
        apiVersion: "example.kleff.io/v1",
        kind: "Widget",
        metadata: { name: "bad" },
        spec: { size: 50, color: "pink" },
      });
      const result = await k.run(["create", "-f", "-"], bad);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /Widget.* "bad" is invalid/);
      assert.match(result.stderr, /spec.size: Invalid value: 50/);
      assert.match(result.stderr, /spec.color: Unsupported value: "pink"/);
      const unknown = await k.run(
        ["create", "-f", "-"],
        bad.replace('"size":50', '"size":1,"extra":1'),
      );
      assert.match(unknown.stderr, /unknown field "spec.extra"/);
    }),
});

Deno.test({
  name: "kubectl: namespaces can be created, labelled, listed, described and deleted",
  ignore: !KUBECTL,
  fn: () =>
    withKubectl(async (k) => {
      // typed create commands send protobuf bodies
      await k.ok(["create", "namespace", "team-a"]);
      await k.ok(["create", "configmap", "settings", "-n", "team-a", "--from-literal=plan=gold"]);
      await k.ok(["create", "secret", "generic", "creds", "-n", "team-a", "--from-literal=p=q"]);
      assert.match(
        await k.ok(["get", "cm", "settings", "-n", "team-a", "-o", "jsonpath={.data.plan}"]),
        /^gold$/,
      );
      assert.match(
        await k.ok(["get", "secret", "creds", "-n", "team-a", "-o", "jsonpath={.data.p}"]),
        /^cQ==$/,
      );
      await k.ok(["label", "namespace", "team-a", "tier=gold"]);
      assert.match(await k.ok(["get", "ns", "-l", "tier=gold"]), /team-a\s+Active/);
      assert.match(await k.ok(["describe", "ns", "team-a"]), /Status:\s+Active/);
      await k.ok(["patch", "ns", "team-a", "-p", '{"metadata":{"annotations":{"a":"b"}}}']);
      assert.match(
        await k.ok(["get", "ns", "team-a", "-o", "jsonpath={.metadata.annotations.a}"]),
        /^b$/,
      );
      await k.ok(["delete", "ns", "team-a", "--wait=true", "--timeout=10s"]);
      assert.notEqual((await k.run(["get", "ns", "team-a"])).code, 0);
    }),
});

Deno.test({
  name: "kubectl: get -w sees a change; wait --for=condition and --for=delete",
  ignore: !KUBECTL,
  fn: () =>
    withKubectl(async (k) => {
      await k.ok(["apply", "-f", `${FIXTURES}widget_crd.yaml`]);
      await k.ok(["create", "-f", `${FIXTURES}widget.yaml`]);
      const watches = () => k.server.counters.count({ verb: "watch", resource: "widgets" });
      const watching = k.run(["get", "widgets", "-w", "--request-timeout=4s"]);
      const waiting = k.run(["wait", "--for=condition=Ready=True", "widget/w1", "--timeout=8s"]);
      await eventually("get -w and wait watching", () => watches() >= 2);
      await k.ok([
        "patch",
        "widget",
        "w1",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}',
      ]);
      const waited = await waiting;
      assert.equal(waited.code, 0, waited.stderr);
      assert.match(waited.stdout, /condition met/);
      const open = watches();
      const deleting = k.run(["wait", "--for=delete", "widget/w1", "--timeout=8s"]);
      await eventually("wait --for=delete watching", () => watches() > open);
      await k.ok(["delete", "widget", "w1", "--wait=false"]);
      const deleted = await deleting;
      assert.equal(deleted.code, 0, deleted.stderr);
      const watched = await watching;
      // One row per event: ADDED (not ready), MODIFIED (Ready=True), DELETED (its last state).
      const [header, ...rows] = watched.stdout.trimEnd().split("\n");
      assert.match(header, /^NAME\s+SIZE\s+READY\s+AGE$/, watched.stdout);
      const ready = [header.indexOf("READY"), header.indexOf("AGE")];
      assert.deepEqual(
        rows.map((row) => [row.split(/\s+/, 2).join(" "), row.slice(ready[0], ready[1]).trim()]),
        [["w1 3", ""], ["w1 3", "True"], ["w1 3", "True"]],
        `get -w printed:\n${watched.stdout}`,
      );
    }),
});

const SETTINGS = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: default
  labels: { team: blue }
data:
  plan: gold
  region: eu
`;

Deno.test({
  name: "kubectl: apply --server-side creates, updates, reports conflicts and forces them",
  ignore: !KUBECTL,
  fn: () =>
    withKubectl(async (k) => {
      assert.match(
        await k.ok(["apply", "--server-side", "-f", `${FIXTURES}widget_crd.yaml`]),
        /widgets.example.kleff.io serverside-applied/,
      );
      await k.ok(["wait", "--for=condition=Established", "crd/widgets.example.kleff.io"]);
      assert.match(
        await k.ok(["apply", "--server-side", "-f", `${FIXTURES}widget.yaml`]),
        /widget.example.kleff.io\/w1 serverside-applied/,
      );
      assert.match(
        await k.ok(["apply", "--server-side", "-f", "-"], SETTINGS),
        /serverside-applied/,
      );
      await k.ok([
        "patch",
        "cm",
        "settings",
        "--type=merge",
        "-p",
        '{"data":{"plan":"silver"}}',
        "--field-manager=editor",
      ]);
      const refused = await k.run(["apply", "--server-side", "-f", "-"], SETTINGS);
      assert.notEqual(refused.code, 0);
      assert.match(
        refused.stderr,
        /Apply failed with 1 conflict: conflict with "editor" using v1: \.data\.plan/,
      );
      await k.ok(
        ["apply", "--server-side", "--force-conflicts", "-f", "-"],
        SETTINGS.replace("region: eu\n", ""),
      );
      const json = JSON.parse(await k.ok(["get", "cm", "settings", "-o", "json"]));
      assert.deepEqual(
        json.data,
        { plan: "gold" },
        "forced, and the region no longer applied is pruned",
      );
      assert.equal(
        json.metadata.managedFields,
        undefined,
        "kubectl hides managedFields by default",
      );
      const shown = JSON.parse(
        await k.ok(["get", "cm", "settings", "-o", "json", "--show-managed-fields"]),
      );
      assert.deepEqual(
        shown.metadata.managedFields.map((e: { manager: string; operation: string }) =>
          `${e.manager}/${e.operation}`
        ),
        ["kubectl/Apply"],
      );
      assert.deepEqual(shown.metadata.managedFields[0].fieldsV1, {
        "f:data": { "f:plan": {} },
        "f:metadata": { "f:labels": { "f:team": {} } },
      });
    }),
});

Deno.test({
  name: "kubectl: apply --server-side takes over what a client-side apply set",
  ignore: !KUBECTL,
  fn: () =>
    withKubectl(async (k) => {
      await k.ok(["apply", "-f", "-"], SETTINGS);
      await k.ok(["apply", "--server-side", "-f", "-"], SETTINGS.replace("gold", "platinum"));
      const json = JSON.parse(
        await k.ok(["get", "cm", "settings", "-o", "json", "--show-managed-fields"]),
      );
      assert.equal(json.data.plan, "platinum");
      const lastApplied = JSON.parse(
        json.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"],
      );
      assert.equal(lastApplied.data.plan, "platinum", "the annotation follows the apply");
      assert.ok(
        json.metadata.managedFields.some((e: { manager: string; operation: string }) =>
          e.manager === "kubectl" && e.operation === "Apply"
        ),
      );
      assert.match(await k.ok(["apply", "-f", "-"], SETTINGS), /configured/);
      assert.match(await k.ok(["get", "cm", "settings", "-o", "jsonpath={.data.plan}"]), /^gold$/);
    }),
});
