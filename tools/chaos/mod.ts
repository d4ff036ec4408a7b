// Public face of the chaos suite: run the operator's replicas under a seeded
// workload and faults against the dev API server, then check invariants.
export { type ChaosReport, runChaos } from "./run.ts";
export { formatReport } from "./report.ts";
export {
  CHAOS_DEFAULTS,
  CHAOS_HELP,
  type ChaosOptions,
  ChaosOptionsError,
  parseChaosOptions,
  replayCommand,
} from "./options.ts";
export type { InvariantResult } from "./invariants.ts";
export { Prng } from "./prng.ts";
