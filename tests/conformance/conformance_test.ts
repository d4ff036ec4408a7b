// Differential conformance: each scenario runs against a fresh dev API server and against the
// real lane's cluster, and what came back is compared. Every difference must be a known one
// (known_differences.ts, with its reason); a known one that no longer shows fails too, so that
// the list stays true.
import { devApi, realApi } from "./api.ts";
import { compare, type Difference, Recorder } from "./observe.ts";
import type { Scenario, ScenarioContext } from "./scenario.ts";
import { KNOWN_DIFFERENCES, type KnownDifference } from "./known_differences.ts";
import { OBJECT_SCENARIOS } from "./object_scenarios.ts";
import { LIST_SCENARIOS } from "./list_scenarios.ts";
import { CRD_SCENARIOS } from "./crd_scenarios.ts";
import { AUTH_SCENARIOS } from "./auth_scenarios.ts";
import { KUBE_ASSETS, realCluster, realOnly } from "../support/test_apiserver.ts";
import { assessKubernetesVersion } from "../../lib/operator/kubernetes_version.ts";

const SCENARIOS: Scenario[] = [
  ...OBJECT_SCENARIOS,
  ...LIST_SCENARIOS,
  ...CRD_SCENARIOS,
  ...AUTH_SCENARIOS,
];

/** The features the real server lacks (lib/operator/kubernetes_version.ts). */
const lacking = KUBE_ASSETS
  ? assessKubernetesVersion({
    major: KUBE_ASSETS.major,
    minor: KUBE_ASSETS.minor,
    gitVersion: KUBE_ASSETS.version,
  }).missing.map((feature) => feature.name)
  : [];

function applies(known: KnownDifference, scenario: Scenario): boolean {
  if (
    known.scenario !== "*" && !known.scenario.some((prefix) => scenario.name.startsWith(prefix))
  ) {
    return false;
  }
  return known.lacks === undefined || lacking.some((name) => name.startsWith(known.lacks!));
}

function explains(known: KnownDifference, difference: Difference): boolean {
  return (!known.step || known.step.test(difference.step)) &&
    (!known.path || known.path.test(difference.path));
}

const show = (value: unknown) => JSON.stringify(value)?.slice(0, 400) ?? "(absent)";

async function runScenario(scenario: Scenario): Promise<void> {
  const context: ScenarioContext = {
    namespacesFinishDeleting: realCluster!.kube.handle.controllerManager,
  };
  const recordings = [];
  for (const start of [devApi, () => realApi(realCluster!)]) {
    const api = await start();
    const recorder = new Recorder();
    try {
      await scenario.run(api, recorder, context);
    } finally {
      await api.close();
    }
    recordings.push(recorder.observations);
  }
  const differences = compare(recordings[0], recordings[1]);
  const candidates = KNOWN_DIFFERENCES.filter((known) => applies(known, scenario));
  const unexplained: Difference[] = [];
  const seen = new Set<KnownDifference>();
  for (const difference of differences) {
    const known = candidates.find((candidate) => explains(candidate, difference));
    if (known) seen.add(known);
    else unexplained.push(difference);
    const label = known ? `${known.kind}: ${known.id}` : "UNEXPLAINED";
    console.log(
      `[${label}] ${difference.step} ${difference.path}\n    dev:  ${
        show(difference.dev)
      }\n    real: ${show(difference.real)}`,
    );
  }
  const stale = candidates.filter((known) => known.scenario !== "*" && !seen.has(known));
  const problems = [
    ...unexplained.map((d) => `unexplained difference in "${d.step}" at ${d.path || "(whole)"}`),
    ...stale.map((known) =>
      `"${known.id}" no longer shows: remove it from known_differences.ts or narrow it`
    ),
  ];
  if (problems.length > 0) throw new Error(problems.join("\n"));
}

for (const scenario of SCENARIOS) {
  Deno.test({ name: `conformance: ${scenario.name}`, ...realOnly() }, () => runScenario(scenario));
}
