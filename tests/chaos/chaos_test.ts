// CI's chaos run: a short fixed-seed run of the real operator (two replicas,
// leader election) under workload and faults; every invariant must hold.
import assert from "node:assert/strict";
import { CHAOS_DEFAULTS, formatReport, runChaos } from "../../tools/chaos/mod.ts";

Deno.test({
  name: "chaos: 20 s fixed-seed run with two replicas holds every invariant",
  fn: async () => {
    const report = await runChaos({
      ...CHAOS_DEFAULTS,
      seed: 7,
      durationMs: 20_000,
      tenants: 30,
      settleTimeoutMs: 30_000,
      help: false,
    });
    const text = formatReport(report);
    assert.ok((report.actions.get("create") ?? 0) >= 10, `too little workload\n${text}`);
    assert.ok(report.faults.size >= 3, `too few kinds of faults\n${text}`);
    for (const move of ["disown", "collide", "crossLabel"]) {
      assert.ok((report.actions.get(move) ?? 0) >= 1, `no hostile move ${move}\n${text}`);
    }
    assert.equal(report.violations, 0, text);
  },
});
