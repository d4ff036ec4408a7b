// The monitoring component renders with kubectl's kustomize, alone and next to the base as the
// README shows: a ServiceMonitor that selects the metrics Service's port, the PrometheusRule, and
// the dashboard as a ConfigMap labelled for Grafana's sidecar. kubectl runs with an empty
// kubeconfig of the test's own; skipped, with a note, without kubectl.
import assert from "node:assert/strict";
import { parse, parseAllDocuments } from "yaml";
import { relative } from "node:path";
import { withDir } from "../../support/fs.ts";
import { runTool, toolsPresent } from "../../support/tools.ts";
import { repoPath } from "../../support/monitoring.ts";

const KUBECTL = toolsPresent(["kubectl"], "the kustomize tests of deploy/monitoring/");

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
};

/** `kubectl kustomize dir` with an empty kubeconfig: the rendered objects. */
async function kustomize(dir: string): Promise<Obj[]> {
  let objects: Obj[] = [];
  await withDir(async (tmp) => {
    await Deno.writeTextFile(`${tmp}/empty.kubeconfig`, "");
    const run = await runTool("kubectl", [
      "kustomize",
      dir,
      "--kubeconfig",
      `${tmp}/empty.kubeconfig`,
    ]);
    assert.equal(run.code, 0, run.stderr);
    objects = parseAllDocuments(run.stdout).map((document) => document.toJS() as Obj);
  });
  return objects;
}

function one(objects: Obj[], kind: string): Obj {
  const found = objects.filter((object) => object.kind === kind);
  assert.equal(found.length, 1, `exactly one ${kind}`);
  return found[0];
}

Deno.test({
  name: "deploy/monitoring renders alone: ServiceMonitor, PrometheusRule, dashboard ConfigMap",
  ignore: !KUBECTL,
  fn: async () => {
    const objects = await kustomize(repoPath("deploy/monitoring"));
    assert.deepEqual(objects.map((object) => object.kind).sort(), [
      "ConfigMap",
      "PrometheusRule",
      "ServiceMonitor",
    ]);
    const configMap = one(objects, "ConfigMap");
    assert.equal(configMap.metadata.name, "kleff-tenant-operator-dashboard");
    assert.equal(configMap.metadata.namespace, "kleff-system");
    assert.equal(configMap.metadata.labels?.grafana_dashboard, "1");
    const data = configMap.data as Record<string, string>;
    assert.deepEqual(Object.keys(data), ["kleff-tenant-operator.json"]);
    assert.deepEqual(
      JSON.parse(data["kleff-tenant-operator.json"]),
      JSON.parse(await Deno.readTextFile(repoPath("deploy/monitoring/dashboard.json"))),
    );
    const rule = one(objects, "PrometheusRule");
    const file = parse(await Deno.readTextFile(repoPath("deploy/monitoring/prometheus_rule.yaml")));
    assert.deepEqual(rule.spec, file.spec);
    for (const object of objects) {
      assert.equal(object.metadata.labels?.["app.kubernetes.io/name"], "kleff-tenant-operator");
      assert.equal(object.metadata.namespace, "kleff-system");
    }
  },
});

Deno.test({
  name: "the base with the monitoring component: the ServiceMonitor selects the metrics port",
  ignore: !KUBECTL,
  fn: async () => {
    await withDir(async (dir) => {
      // kustomize takes only relative paths to other kustomizations, as a user's overlay has.
      await Deno.writeTextFile(
        `${dir}/kustomization.yaml`,
        [
          "apiVersion: kustomize.config.k8s.io/v1beta1",
          "kind: Kustomization",
          `resources: [${relative(dir, repoPath("deploy"))}]`,
          `components: [${relative(dir, repoPath("deploy/monitoring"))}]`,
          "",
        ].join("\n"),
      );
      const objects = await kustomize(dir);
      const base = await kustomize(repoPath("deploy"));
      assert.equal(objects.length, base.length + 3);
      const monitor = one(objects, "ServiceMonitor") as Obj & {
        spec: {
          selector: { matchLabels: Record<string, string> };
          namespaceSelector: { matchNames: string[] };
          endpoints: { port: string; path: string; scheme: string }[];
        };
      };
      const selected = objects.filter((object) =>
        object.kind === "Service" &&
        monitor.spec.namespaceSelector.matchNames.includes(object.metadata.namespace ?? "") &&
        Object.entries(monitor.spec.selector.matchLabels).every(([key, value]) =>
          object.metadata.labels?.[key] === value
        )
      );
      assert.deepEqual(selected.map((service) => service.metadata.name), [
        "kleff-tenant-operator-metrics",
      ]);
      const ports = (selected[0].spec as { ports: { name: string; targetPort: string }[] }).ports;
      assert.deepEqual(monitor.spec.endpoints.map((endpoint) => endpoint.port), ["metrics"]);
      assert.ok(ports.some((port) => port.name === "metrics"));
      assert.equal(monitor.spec.endpoints[0].path, "/metrics");
      assert.equal(monitor.spec.endpoints[0].scheme, "https");
    });
  },
});
