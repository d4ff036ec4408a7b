// `deno task bench`: every benchmark in one run, printing numbers only (no
// assertions). Sections can be picked: `deno task bench apiserver operator`; flags after the
// section names go to the sections (`deno task bench peer --full`).
import { benchAdmission } from "./admission_bench.ts";
import { benchApiServer } from "./apiserver_bench.ts";
import { benchClient } from "./client_bench.ts";
import { benchMetrics } from "./metrics_bench.ts";
import { benchIsolation } from "./isolation_bench.ts";
import { benchFaults } from "./faults_bench.ts";
import { benchOperatorCreate } from "./operator_bench.ts";
import { benchPeer, PeerBenchOptionsError } from "./peer_bench.ts";
import { benchScale } from "./scale_bench.ts";

const SECTIONS: Record<string, (flags: string[]) => Promise<void>> = {
  apiserver: benchApiServer,
  admission: benchAdmission,
  client: benchClient,
  operator: async () => {
    await benchOperatorCreate(1000);
    console.log("\n-- with Istio and Gatekeeper served (the full feature set)");
    await benchOperatorCreate(1000, { integrations: true });
  },
  scale: () => benchScale(10_000),
  metrics: () => Promise.resolve(benchMetrics(10_000)),
  isolation: benchIsolation,
  faults: benchFaults,
  peer: benchPeer,
};

const firstFlag = Deno.args.findIndex((arg) => arg.startsWith("-"));
const names = firstFlag < 0 ? Deno.args : Deno.args.slice(0, firstFlag);
const flags = firstFlag < 0 ? [] : Deno.args.slice(firstFlag);
const wanted = names.length ? names : Object.keys(SECTIONS);
const unknown = wanted.filter((name) => !(name in SECTIONS));
if (unknown.length) {
  console.error(
    `unknown section(s): ${unknown.join(", ")}; known: ${Object.keys(SECTIONS).join(", ")}`,
  );
  Deno.exit(2);
}
console.log(
  `kleff benchmarks on ${Deno.build.os}/${Deno.build.arch}, deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores`,
);
for (const name of wanted) {
  console.log(`\n== ${name}`);
  try {
    await SECTIONS[name](flags);
  } catch (error) {
    if (!(error instanceof PeerBenchOptionsError)) throw error;
    console.error(error.message);
    Deno.exit(2);
  }
}
