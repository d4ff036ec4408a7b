// The chaos run's command-line flags (`deno task chaos --duration 2m --seed 7 ...`),
// parsed in one place so the replay command printed in a report round-trips.
import { parseArgs } from "node:util";
import { formatDuration, parseDuration } from "../../lib/operator/duration.ts";

/** What one chaos run does. */
export interface ChaosOptions {
  /** Seed of the workload and fault schedule. */
  seed: number;
  /** How long the workload and faults run, in ms. */
  durationMs: number;
  /** Operator replicas (leader election decides who reconciles). */
  replicas: number;
  /** Most tenants alive at once. */
  tenants: number;
  /** Longest wait for the system to settle after the faults stop, in ms. */
  settleTimeoutMs: number;
  /** Keep the replicas' log folder after a run without violations. */
  keepLogs: boolean;
  /** `--help` was given. */
  help: boolean;
}

/** Thrown for unknown flags or bad values; the message is user-facing. */
export class ChaosOptionsError extends Error {
  /** Builds the error naming the flag. */
  constructor(message: string) {
    super(message);
    this.name = "ChaosOptionsError";
  }
}

/** The defaults of every flag. */
export const CHAOS_DEFAULTS: Readonly<Omit<ChaosOptions, "seed" | "help">> = {
  durationMs: 120_000,
  replicas: 2,
  tenants: 40,
  settleTimeoutMs: 60_000,
  keepLogs: false,
};

/** The `--help` text. */
export const CHAOS_HELP =
  `kleff chaos run: the real operator (as child processes, with leader election)
against the dev API server, under a random workload and injected faults, then invariants.

Usage: deno task chaos [flags]

Flags:
  --duration DURATION  workload and fault time (default ${
    formatDuration(CHAOS_DEFAULTS.durationMs)
  })
  --seed N             seed of the workload and faults (default: random, printed)
  --replicas N         operator replicas (default ${CHAOS_DEFAULTS.replicas})
  --tenants N          most tenants alive at once (default ${CHAOS_DEFAULTS.tenants})
  --settle DURATION    longest wait for the system to settle (default ${
    formatDuration(CHAOS_DEFAULTS.settleTimeoutMs)
  })
  --keep-logs          keep the replicas' logs even when every invariant holds
  -h, --help           print this help
`;

function whole(value: string | undefined, flag: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min) {
    throw new ChaosOptionsError(
      `${flag}: must be a whole number of at least ${min}, got "${value}"`,
    );
  }
  return number;
}

/** Parses chaos flags; `randomSeed` supplies the seed when `--seed` is absent. */
export function parseChaosOptions(
  args: string[],
  randomSeed: () => number = () => Math.floor(Math.random() * 1_000_000),
): ChaosOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        duration: { type: "string" },
        seed: { type: "string" },
        replicas: { type: "string" },
        tenants: { type: "string" },
        settle: { type: "string" },
        "keep-logs": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    throw new ChaosOptionsError(error instanceof Error ? error.message : String(error));
  }
  try {
    return {
      seed: values.seed === undefined ? randomSeed() : whole(values.seed, "--seed", 0, 0),
      durationMs: values.duration === undefined
        ? CHAOS_DEFAULTS.durationMs
        : parseDuration(values.duration, "--duration"),
      replicas: whole(values.replicas, "--replicas", 1, CHAOS_DEFAULTS.replicas),
      tenants: whole(values.tenants, "--tenants", 1, CHAOS_DEFAULTS.tenants),
      settleTimeoutMs: values.settle === undefined
        ? CHAOS_DEFAULTS.settleTimeoutMs
        : parseDuration(values.settle, "--settle"),
      keepLogs: values["keep-logs"] ?? false,
      help: values.help ?? false,
    };
  } catch (error) {
    if (error instanceof ChaosOptionsError) throw error;
    throw new ChaosOptionsError(error instanceof Error ? error.message : String(error));
  }
}

/** The command that replays a run with the same seed and settings. */
export function replayCommand(options: ChaosOptions): string {
  return `deno task chaos --seed ${options.seed} --duration ${
    formatDuration(options.durationMs)
  } --replicas ${options.replicas} --tenants ${options.tenants} --settle ${
    formatDuration(options.settleTimeoutMs)
  }`;
}
