// The list of known differences stays honest without a real server: every entry is documented
// in the README's table with its kind, ids are unique, and named scenarios exist.
import assert from "node:assert/strict";
import { KNOWN_DIFFERENCES } from "./known_differences.ts";
import { OBJECT_SCENARIOS } from "./object_scenarios.ts";
import { LIST_SCENARIOS } from "./list_scenarios.ts";
import { CRD_SCENARIOS } from "./crd_scenarios.ts";
import { AUTH_SCENARIOS } from "./auth_scenarios.ts";
import { KUBERNETES_FEATURES } from "../../lib/operator/kubernetes_version.ts";

const README = new URL("../../README.md", import.meta.url);
const SCENARIOS = [...OBJECT_SCENARIOS, ...LIST_SCENARIOS, ...CRD_SCENARIOS, ...AUTH_SCENARIOS];

Deno.test("every known difference has a README row, a unique id and real scenarios", async () => {
  const readme = await Deno.readTextFile(README);
  const ids = KNOWN_DIFFERENCES.map((known) => known.id);
  assert.deepEqual(ids, [...new Set(ids)], "ids are unique");
  for (const known of KNOWN_DIFFERENCES) {
    assert.match(readme, new RegExp(`\\| \`${known.id}\` +\\| ${known.kind} +\\|`), known.id);
    if (known.scenario !== "*") {
      for (const prefix of known.scenario) {
        assert.equal(
          SCENARIOS.filter((scenario) => scenario.name.startsWith(prefix)).length,
          1,
          `${known.id}: "${prefix}" names one scenario`,
        );
      }
    }
    if (known.lacks !== undefined) {
      assert.ok(
        KUBERNETES_FEATURES.some((feature) => feature.name.startsWith(known.lacks!)),
        `${known.id}: "${known.lacks}" is a feature of lib/operator/kubernetes_version.ts`,
      );
    }
    assert.equal(known.kind === "version", known.lacks !== undefined, `${known.id}: lacks`);
  }
  const names = SCENARIOS.map((scenario) => scenario.name);
  assert.deepEqual(names, [...new Set(names)], "scenario names are unique");
});
