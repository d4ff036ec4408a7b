// The operator's command-line flags: parsed and validated in one place so that
// `--help`, the README and the defaults cannot drift apart.
import { parseArgs } from "node:util";
import { type LogFormat, type LogLevel, parseLogFormat, parseLogLevel } from "../log.ts";
import { formatDuration, parseDuration } from "./duration.ts";

/** Everything the operator can be told on its command line. */
export interface OperatorOptions {
  /** kubeconfig path (else `KUBECONFIG`, `~/.kube/config`, or in-cluster). */
  kubeconfig?: string;
  /** kubeconfig context to use instead of the current one. */
  context?: string;
  /** Tenants reconciled at the same time. */
  concurrency: number;
  /** Period of the safety-net resync of every tenant, in ms. */
  resyncPeriodMs: number;
  /** Lowest log level written. */
  logLevel: LogLevel;
  /** Log format; undefined = JSON when stderr is not a terminal. */
  logFormat?: LogFormat;
  /** `--help` was given. */
  help: boolean;
}

/** Thrown for unknown flags or bad flag values; its message is user-facing. */
export class OptionsError extends Error {
  /** Builds the error with a message naming the flag. */
  constructor(message: string) {
    super(message);
    this.name = "OptionsError";
  }
}

const DEFAULTS = { concurrency: 4, resyncPeriodMs: 600_000 };

/** The `--help` text. */
export const HELP = `kleff tenant operator: one Tenant (kleff.kleff.io/v1) = one guarded namespace.

Usage: deno run <permissions> mod.ts [flags]

Flags:
  --kubeconfig PATH         kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)
  --context NAME            kubeconfig context to use (default: its current-context)
  --concurrency N           tenants reconciled at the same time (default ${DEFAULTS.concurrency})
  --resync-period DURATION  safety-net resync of every tenant (default ${
  formatDuration(DEFAULTS.resyncPeriodMs)
})
  --log-level LEVEL         trace, debug, info, warning, error (default info)
  --log-format FORMAT       json or pretty (default: json unless stderr is a terminal)
  -h, --help                print this help
`;

/** Parses operator flags; throws {@linkcode OptionsError} with a clear message. */
export function parseOperatorOptions(args: string[]): OperatorOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        kubeconfig: { type: "string" },
        context: { type: "string" },
        concurrency: { type: "string" },
        "resync-period": { type: "string" },
        "log-level": { type: "string" },
        "log-format": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    throw new OptionsError(error instanceof Error ? error.message : String(error));
  }
  try {
    const concurrency = values.concurrency === undefined
      ? DEFAULTS.concurrency
      : Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new OptionsError(
        `--concurrency: must be a whole number of at least 1, got "${values.concurrency}"`,
      );
    }
    const resyncPeriodMs = values["resync-period"] === undefined
      ? DEFAULTS.resyncPeriodMs
      : parseDuration(values["resync-period"], "--resync-period");
    if (resyncPeriodMs < 1000) {
      throw new OptionsError(
        `--resync-period: must be at least 1s, got "${values["resync-period"]}"`,
      );
    }
    return {
      kubeconfig: values.kubeconfig,
      context: values.context,
      concurrency,
      resyncPeriodMs,
      logLevel: values["log-level"] === undefined ? "info" : parseLogLevel(values["log-level"]),
      logFormat: values["log-format"] === undefined
        ? undefined
        : parseLogFormat(values["log-format"]),
      help: values.help ?? false,
    };
  } catch (error) {
    if (error instanceof OptionsError) throw error;
    throw new OptionsError(error instanceof Error ? error.message : String(error));
  }
}
