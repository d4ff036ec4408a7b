// The generated files are current: each one regenerated from its source (the CRD and the condition
// vocabulary for docs/api.md, rules.yaml for the PrometheusRule, tools/generate/dashboard.ts for
// the dashboard) equals the file checked in. `deno task generate` rewrites them.
import assert from "node:assert/strict";
import { current, expected, GENERATED } from "../../tools/generate/mod.ts";
import { vocabulary } from "../../tools/generate/api_reference.ts";

for (const file of GENERATED) {
  Deno.test(`${file.path} is current (else run \`deno task generate\`)`, async () => {
    const text = await current(file);
    assert.ok(text !== undefined, `${file.path} is missing`);
    assert.ok(text === await expected(file), `${file.path} is stale: run \`deno task generate\``);
  });
}

Deno.test("the API reference refuses a vocabulary member without JSDoc or out of step", () => {
  const source = `export const Reason = {
  /** Documented. */
  Ready: "Ready",
  Bare: "Bare",
} as const;`;
  assert.throws(
    () => vocabulary(source, "Reason", { Ready: "Ready", Bare: "Bare" }),
    /Reason\.Bare has no JSDoc/,
  );
  const documented = source.replace('  Bare: "Bare"', '  /** Also. */\n  Bare: "Bare"');
  assert.deepEqual(vocabulary(documented, "Reason", { Ready: "Ready", Bare: "Bare" }), [
    { value: "Ready", doc: "Documented." },
    { value: "Bare", doc: "Also." },
  ]);
  assert.throws(
    () => vocabulary(documented, "Reason", { Ready: "Ready" }),
    /read Ready, Bare but the module exports Ready/,
  );
});
