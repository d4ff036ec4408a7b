// The Grafana dashboard is importable as is and loadable by the sidecar: no import-time inputs, a
// data source variable every query uses, unique ids and refIds, a grid without overlaps, and a
// question on every panel that the README's Monitoring section answers.
import assert from "node:assert/strict";
import { dashboardJson } from "../../support/monitoring.ts";
import { DEFAULT_JOB, JOB_QUERY } from "../../../tools/generate/dashboard.ts";

const dashboard = await dashboardJson();
const panels = dashboard.panels.filter((panel) => panel.type !== "row");
const DATASOURCE = { type: "prometheus", uid: "${datasource}" };

Deno.test("no import-time inputs; a data source variable and a job variable with a default", () => {
  assert.equal(dashboard.__inputs, undefined, "the sidecar does not resolve __inputs");
  assert.equal(dashboard.uid, "kleff-tenant-operator");
  assert.equal(dashboard.id, null);
  const variables = dashboard.templating.list;
  assert.deepEqual(variables.map((variable) => [variable.name, variable.type]), [
    ["datasource", "datasource"],
    ["job", "query"],
  ]);
  assert.equal(variables[0].query, "prometheus");
  assert.deepEqual(variables[1].query, { query: JOB_QUERY, refId: "job" });
  assert.deepEqual(variables[1].current, { selected: true, text: DEFAULT_JOB, value: DEFAULT_JOB });
});

Deno.test("every panel and query uses the data source variable; only known variables appear", () => {
  for (const panel of panels) {
    assert.deepEqual(panel.datasource, DATASOURCE, panel.title);
    assert.ok((panel.description ?? "").endsWith("."), `${panel.title} says what it answers`);
    assert.ok(panel.targets && panel.targets.length > 0, panel.title);
    const refIds = panel.targets.map((target) => target.refId);
    assert.equal(new Set(refIds).size, refIds.length, `${panel.title}: unique refIds`);
    for (const target of panel.targets) {
      assert.deepEqual(target.datasource, DATASOURCE, panel.title);
      const variables = [...target.expr.matchAll(/\$\{?(\w+)/g)].map((match) => match[1]);
      assert.deepEqual(
        variables.filter((name) => name !== "job" && name !== "__rate_interval"),
        [],
        target.expr,
      );
      assert.match(target.expr, /job="\$job"/, `${panel.title} selects the job`);
    }
  }
});

Deno.test("unique ids and titles, and a 24-column grid without overlaps", () => {
  const ids = dashboard.panels.map((panel) => panel.id);
  assert.equal(new Set(ids).size, ids.length);
  const titles = panels.map((panel) => panel.title);
  assert.equal(new Set(titles).size, titles.length);
  const cells = new Set<string>();
  for (const { title, gridPos } of dashboard.panels) {
    assert.ok(gridPos.x >= 0 && gridPos.x + gridPos.w <= 24, title);
    for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++) {
      for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
        assert.ok(!cells.has(`${x},${y}`), `${title} overlaps at ${x},${y}`);
        cells.add(`${x},${y}`);
      }
    }
  }
});

Deno.test("the README's Monitoring section names every panel", async () => {
  const readme = await Deno.readTextFile(new URL("../../../README.md", import.meta.url));
  const section = /^## Monitoring$([\s\S]*?)^## /m.exec(readme)?.[1];
  assert.ok(section, "README has a Monitoring section");
  for (const title of panels.map((panel) => panel.title)) {
    assert.ok(section.includes(title), `README, Monitoring: ${title}`);
  }
});
