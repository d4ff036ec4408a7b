// Every query of the dashboard and every alert, proven against a real Prometheus: an operator
// process (leader-elected, as deployed) runs against the dev API server with tenants in several
// states, reconcile errors and dropped watches; Prometheus (the Debian package's server) scrapes
// its /metrics under the job the ServiceMonitor gives and loads deploy/monitoring/rules.yaml. Then
// each panel query must parse and return series, each alert expression must parse and its
// selectors return series (an alert's condition is rightly empty in a healthy system), every rule
// must evaluate without error, and the tenant alert must name the tenants that are not Ready.
// `promtool check metrics` must accept /metrics. Skipped, with a note, without prometheus and
// promtool (.ci/run installs them).
import assert from "node:assert/strict";
import { OperatorEnv } from "../../support/operator_env.ts";
import { OperatorProcess, parseMetrics } from "../../support/operator_process.ts";
import { alertRules, panelQueries, repoPath } from "../../support/monitoring.ts";
import { PrometheusServer } from "../../support/prometheus.ts";
import { vectorSelectors } from "../../support/promql.ts";
import { runTool, toolsPresent } from "../../support/tools.ts";
import { eventually } from "../../support/wait.ts";
import { DEFAULT_JOB, JOB_QUERY } from "../../../tools/generate/dashboard.ts";

const TOOLS = toolsPresent(["prometheus", "promtool"], "the real-Prometheus monitoring tests");

/**
 * Metric families that rightly have no series in this scenario, with why: a query reading only
 * them may return nothing (noted when it happens).
 */
const QUIET_FAMILIES: { metric: string; why: string }[] = [
  { metric: "kleff_events_dropped_total", why: "no Event was given up" },
];

/**
 * Label matchers of alert selectors that rightly match nothing in this scenario, with why: for
 * those the selector without the matcher must find series (the family and job exist).
 */
const QUIET_MATCHERS: { matcher: string; why: string }[] = [
  { matcher: 'cause="inactive"', why: "no watch went silent for 70 s" },
];

/** Grafana's variables as Grafana fills them in for this Prometheus (1 s scrapes). */
function interpolate(expr: string): string {
  return expr.replaceAll("$job", DEFAULT_JOB).replaceAll("$__rate_interval", "1m");
}

/** The metric families /metrics exports with at least one sample. */
function exported(metrics: string): Set<string> {
  return new Set(
    [...parseMetrics(metrics).keys()].map((key) =>
      key.replace(/\{.*$/, "").replace(/_(bucket|sum|count)$/, "")
    ).flatMap((name) => [name, `${name}_bucket`, `${name}_sum`, `${name}_count`]),
  );
}

Deno.test({
  name:
    "a real Prometheus scrapes the operator; every panel and alert query parses and finds series",
  ignore: !TOOLS,
  fn: async (t) => {
    await using env = await OperatorEnv.start({ operator: false });
    await env.namespaces.create({ metadata: { name: "taken" } });
    const operator = new OperatorProcess([
      "--kubeconfig",
      env.operatorKubeconfigPath,
      "--leader-elect",
      "--leader-elect-resource-namespace",
      "kleff-system",
      "--metrics-secure=false",
      "--metrics-bind-address",
      "127.0.0.1:0",
      "--health-probe-bind-address",
      "127.0.0.1:0",
    ]);
    try {
      await operator.waitForLog(/^became leader/);
      // Tenants in every state the panels show: Ready, an unknown plan, a namespace conflict, and
      // one whose first quota writes are refused (reconcile errors and retries).
      env.server.faults.failNext({
        status: 403,
        count: 2,
        verb: "create",
        resource: "resourcequotas",
      });
      await env.createTenant("flaky", { userId: "flaky", username: "dora", plan: "basic" });
      await env.waitForCondition("flaky", "TenantReady", "True", undefined, 20_000);
      for (const plan of ["free", "basic", "pro"]) {
        await env.createTenant(`${plan}-tenant`, { userId: `${plan}-ns`, username: "u", plan });
      }
      await env.createTenant("gold", { userId: "gold-ns", username: "erin", plan: "gold" });
      await env.createTenant("clash", { userId: "taken", username: "finn", plan: "free" });
      for (const plan of ["free", "basic", "pro"]) {
        await env.waitForCondition(`${plan}-tenant`, "TenantReady", "True");
      }
      await env.waitForCondition("gold", "TenantReady", "False", "UnknownPlan");
      await env.waitForCondition("clash", "TenantReady", "False", "NamespaceConflict");
      // Watch restarts: the API server ends every open watch.
      assert.ok(env.server.faults.dropWatches() > 0);
      const metrics = await eventually("a watch restart and reconcile errors counted", async () => {
        const text = await (await operator.get("metrics", "/metrics")).text();
        const samples = parseMetrics(text);
        const restarts = [...samples].some(([key, value]) =>
          key.startsWith("kleff_watch_restarts_total{") && value > 0
        );
        const errors = samples.get(
          'controller_runtime_reconcile_errors_total{controller="tenant"}',
        );
        return restarts && (errors ?? 0) >= 2 ? text : undefined;
      });

      await t.step("promtool check metrics accepts /metrics", async () => {
        const run = await runTool("promtool", ["check", "metrics"], { stdin: metrics });
        assert.equal(run.code, 0, run.stdout + run.stderr);
        assert.equal(run.stdout + run.stderr, "", "no lint findings");
      });

      await using prometheus = await PrometheusServer.start({
        scrapeInterval: "1s",
        jobs: { [DEFAULT_JOB]: [await operator.address("metrics")] },
        ruleFiles: [repoPath("deploy/monitoring/rules.yaml")],
      });
      // Enough scrapes for rate() and increase() over every series, and every rule evaluated.
      await eventually("three scrapes of the operator", async () => {
        const [up] = await prometheus.series(`count_over_time(up{job="${DEFAULT_JOB}"}[1m])`);
        return up !== undefined && Number(up.value[1]) >= 3;
      }, 30_000);
      const rules = await eventually("every rule evaluated", async () => {
        const all = await prometheus.rules();
        return all.every((rule) => !rule.lastEvaluation.startsWith("0001-")) ? all : undefined;
      }, 30_000);
      const [up] = await prometheus.series(`up{job="${DEFAULT_JOB}"}`);
      assert.equal(up.value[1], "1", "the scrape succeeds");

      const present = exported(metrics);
      const quietFamily = (metric: string | undefined) =>
        present.has(metric ?? "")
          ? undefined
          : QUIET_FAMILIES.find((quiet) => quiet.metric === metric);
      const notes: string[] = [];

      await t.step("the job variable lists the operator's job", async () => {
        const selector = /^label_values\((.*), job\)$/.exec(JOB_QUERY)?.[1];
        assert.ok(selector, JOB_QUERY);
        assert.deepEqual(await prometheus.labelValues("job", selector), [DEFAULT_JOB]);
      });

      await t.step("every panel query parses and returns series", async () => {
        const queries = await panelQueries();
        assert.ok(queries.length >= 20, `${queries.length} queries`);
        for (const { panel, expr } of queries) {
          const query = interpolate(expr);
          const result = await prometheus.series(query);
          const quiet = vectorSelectors(query).map((selector) => quietFamily(selector.metric))
            .find((family) => family !== undefined);
          if (result.length === 0 && quiet) {
            notes.push(`${panel}: ${query} (${quiet.why})`);
            continue;
          }
          assert.ok(result.length > 0, `${panel}: no series for ${query}`);
        }
      });

      await t.step("every alert parses, reads existing series and evaluates cleanly", async () => {
        for (const rule of await alertRules()) {
          await prometheus.series(rule.expr);
          for (const selector of vectorSelectors(rule.expr)) {
            let text = selector.text;
            let result = await prometheus.series(text);
            const quiet = QUIET_MATCHERS.find(({ matcher }) => text.includes(matcher));
            if (result.length === 0 && quiet) {
              notes.push(`${rule.alert}: ${text} (${quiet.why})`);
              text = text.replace(new RegExp(`,?\\s*${quiet.matcher}`), "");
              result = await prometheus.series(text);
            }
            const family = quietFamily(selector.metric);
            if (result.length === 0 && family) {
              notes.push(`${rule.alert}: ${text} (${family.why})`);
              continue;
            }
            assert.ok(result.length > 0, `${rule.alert}: no series for ${text}`);
          }
        }
        assert.deepEqual(
          rules.filter((rule) => rule.health !== "ok").map((rule) =>
            `${rule.name}: ${rule.lastError}`
          ),
          [],
        );
      });

      await t.step("the tenant alert's condition names exactly the tenants not Ready", async () => {
        const rule = (await alertRules()).find((rule) => rule.alert === "KleffTenantNotReady")!;
        const tenants = (await prometheus.series(rule.expr)).map((sample) => sample.metric.tenant);
        assert.deepEqual(tenants.sort(), ["clash", "gold"]);
        for (const alert of ["KleffOperatorDown", "KleffNoLeader", "KleffReconcileStuck"]) {
          const quiet = (await alertRules()).find((rule) => rule.alert === alert)!;
          assert.deepEqual(await prometheus.series(quiet.expr), [], `${alert} on a healthy system`);
        }
      });

      if (notes.length > 0) {
        console.log(
          `note: no series (quiet in this scenario) for:\n  ${notes.join("\n  ")}`,
        );
      }
    } finally {
      operator.kill("SIGTERM");
      await operator.exited();
    }
  },
});
