// The peer operator's command line (tools/node_client/peer_operator.ts), parsed in one place.
import { parseArgs } from "node:util";

/** What the peer can be told. */
export interface PeerOptions {
  /** The kubeconfig file. */
  kubeconfig: string;
  /** Workers, like the operator's `--concurrency` (default 8). */
  concurrency: number;
  /** Period of the cache resync that re-enqueues every Tenant, in ms (default 10 min). */
  resyncPeriodMs: number;
}

/** Thrown for a bad command line; its message is the usage. */
export class PeerOptionsError extends Error {
  /** Builds the error from what was wrong. */
  constructor(problem: string) {
    super(
      `${problem}\nusage: peer_operator.ts --kubeconfig PATH [--concurrency N] [--resync-period DURATION]`,
    );
    this.name = "PeerOptionsError";
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `30s`, `10m`, `1h` in ms. */
function parseDuration(text: string, flag: string): number {
  const match = /^(\d+)(ms|s|m|h)$/.exec(text);
  if (!match || Number(match[1]) <= 0) {
    throw new PeerOptionsError(`${flag}: expected a duration like 30s or 10m, got "${text}"`);
  }
  return Number(match[1]) * UNITS[match[2]];
}

/** Parses the peer's flags; throws {@linkcode PeerOptionsError}. */
export function parsePeerOptions(args: string[]): PeerOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        kubeconfig: { type: "string" },
        concurrency: { type: "string", default: "8" },
        "resync-period": { type: "string", default: "10m" },
      },
    }));
  } catch (error) {
    throw new PeerOptionsError(error instanceof Error ? error.message : String(error));
  }
  if (!values.kubeconfig) throw new PeerOptionsError("--kubeconfig is required");
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new PeerOptionsError(
      `--concurrency: expected a positive integer, got "${values.concurrency}"`,
    );
  }
  return {
    kubeconfig: values.kubeconfig,
    concurrency,
    resyncPeriodMs: parseDuration(values["resync-period"], "--resync-period"),
  };
}
