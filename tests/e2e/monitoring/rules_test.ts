// The alerts of deploy/monitoring/: promtool checks the rules file and runs the unit tests of
// promtool_tests.yaml (series in, alerts out); every alert has a summary, a description, a runbook
// section, a firing and a quiet test case, and selects the operator's job only. The promtool tests
// are skipped, with a note, when promtool is not installed (.ci/run installs it).
import assert from "node:assert/strict";
import { parse } from "yaml";
import { vectorSelectors } from "../../support/promql.ts";
import { runTool, toolsPresent } from "../../support/tools.ts";
import { alertRules, repoPath } from "../../support/monitoring.ts";

const PROMTOOL = toolsPresent(["promtool"], "the promtool tests of the alert rules");
const RUNBOOK = "https://github.com/kleff/tenant-operator/blob/main/docs/runbook.md";
const JOB = 'job="kleff-tenant-operator-metrics"';

interface PromtoolTests {
  rule_files: string[];
  tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

Deno.test("every alert has a summary, a description and a runbook section of its own", async () => {
  const rules = await alertRules();
  assert.ok(rules.length >= 8, `${rules.length} alerts`);
  const runbook = await Deno.readTextFile(repoPath("docs/runbook.md"));
  const sections = [...runbook.matchAll(/^## (\S+)$/gm)].map((match) => match[1]);
  assert.deepEqual(sections, rules.map((rule) => rule.alert), "one runbook section per alert");
  for (const rule of rules) {
    assert.ok(rule.annotations.summary?.length > 10, `${rule.alert} summary`);
    assert.ok(rule.annotations.description?.length > 40, `${rule.alert} description`);
    assert.equal(rule.annotations.runbook_url, `${RUNBOOK}#${rule.alert.toLowerCase()}`);
    assert.match(rule.labels?.severity ?? "", /^(critical|warning)$/, rule.alert);
  }
});

Deno.test("every selector of every alert reads the operator's job only", async () => {
  for (const rule of await alertRules()) {
    const selectors = vectorSelectors(rule.expr);
    assert.ok(selectors.length > 0, rule.alert);
    for (const selector of selectors) {
      assert.ok(selector.text.includes(JOB), `${rule.alert}: ${selector.text}`);
    }
  }
});

Deno.test("the PrometheusRule carries exactly the rules file's groups", async () => {
  const plain = parse(await Deno.readTextFile(repoPath("deploy/monitoring/rules.yaml")));
  const rule = parse(await Deno.readTextFile(repoPath("deploy/monitoring/prometheus_rule.yaml")));
  assert.equal(rule.apiVersion, "monitoring.coreos.com/v1");
  assert.equal(rule.kind, "PrometheusRule");
  assert.deepEqual(rule.spec.groups, plain.groups);
});

Deno.test("every alert has a promtool test case where it fires and one where it stays quiet", async () => {
  const file = parse(
    await Deno.readTextFile(repoPath("tests/e2e/monitoring/promtool_tests.yaml")),
  ) as PromtoolTests;
  assert.deepEqual(file.rule_files, ["../../../deploy/monitoring/rules.yaml"]);
  const cases = file.tests.flatMap((test) => test.alert_rule_test ?? []);
  for (const { alert } of await alertRules()) {
    const mine = cases.filter((item) => item.alertname === alert);
    assert.ok(mine.some((item) => item.exp_alerts.length > 0), `${alert} fires in a test`);
    assert.ok(mine.some((item) => item.exp_alerts.length === 0), `${alert} is quiet in a test`);
  }
});

Deno.test({
  name: "promtool check rules accepts the rules file",
  ignore: !PROMTOOL,
  fn: async () => {
    const run = await runTool("promtool", [
      "check",
      "rules",
      repoPath("deploy/monitoring/rules.yaml"),
    ]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /SUCCESS: \d+ rules found/);
  },
});

Deno.test({
  name: "promtool test rules: each alert fires on its series, with its labels and annotations",
  ignore: !PROMTOOL,
  fn: async () => {
    const run = await runTool("promtool", ["test", "rules", "promtool_tests.yaml"], {
      cwd: repoPath("tests/e2e/monitoring/"),
    });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /SUCCESS/);
  },
});
