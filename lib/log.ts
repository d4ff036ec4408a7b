// One place that configures logging for every entry point (operator, dev API
// server, dev playground), so log lines look the same everywhere and secrets
// never reach a sink through an ad-hoc console call.
import {
  configure,
  getAnsiColorFormatter,
  getLogger,
  type Logger,
  type LogRecord,
  reset,
  type Sink,
  type TextFormatter,
} from "@logtape/logtape";

/** A log level name (logtape's levels). */
export type LogLevel = "trace" | "debug" | "info" | "warning" | "error" | "fatal";

/** How log records are rendered: JSON lines (clusters) or readable text. */
export type LogFormat = "json" | "pretty";

/** The log levels accepted by `--log-level`. */
const LOG_LEVELS: readonly LogLevel[] = [
  "trace",
  "debug",
  "info",
  "warning",
  "error",
  "fatal",
];

/** Options for {@linkcode setupLogging}. */
export interface LoggingOptions {
  /** Lowest level written; default `info`. */
  level?: LogLevel;
  /** Output format; default `pretty` on a terminal, `json` otherwise. */
  format?: LogFormat;
}

/** Thrown when a log level or format given on the command line is unknown. */
export class LoggingConfigError extends Error {
  /** Builds the error from the offending flag and value. */
  constructor(flag: string, value: string, allowed: readonly string[]) {
    super(`${flag}: unknown value "${value}" (allowed: ${allowed.join(", ")})`);
    this.name = "LoggingConfigError";
  }
}

/** Parses a `--log-level` value, throwing {@linkcode LoggingConfigError}. */
export function parseLogLevel(value: string): LogLevel {
  const level = value === "warn" ? "warning" : value;
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new LoggingConfigError("--log-level", value, LOG_LEVELS);
  }
  return level as LogLevel;
}

/** Parses a `--log-format` value, throwing {@linkcode LoggingConfigError}. */
export function parseLogFormat(value: string): LogFormat {
  if (value !== "json" && value !== "pretty") {
    throw new LoggingConfigError("--log-format", value, ["json", "pretty"]);
  }
  return value;
}

/**
 * Configures the `kleff` logger category (and resets any earlier setup).
 * Records go to stderr so that stdout stays free for command output.
 */
export async function setupLogging(options: LoggingOptions = {}): Promise<void> {
  const format = options.format ?? (Deno.stderr.isTerminal() ? "pretty" : "json");
  await reset();
  await configure({
    sinks: {
      stderr: stderrSink(
        format === "json" ? jsonFormatter : getAnsiColorFormatter({ value: "bare" }),
      ),
    },
    loggers: [
      { category: ["kleff"], lowestLevel: options.level ?? "info", sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
}

/** Renders a value inside a message: strings bare, everything else as JSON. */
function bare(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * JSON lines as log pipelines expect them: `@timestamp`, `level`, `logger`, the rendered
 * `message` (values bare, not quoted) and the structured `properties`.
 */
function jsonFormatter(record: LogRecord): string {
  const message = record.message.map((part, i) => i % 2 === 0 ? String(part) : bare(part)).join(
    "",
  );
  return JSON.stringify({
    "@timestamp": new Date(record.timestamp).toISOString(),
    level: record.level.toUpperCase(),
    logger: record.category.join("."),
    message,
    properties: record.properties,
  }, (_key, value) => typeof value === "bigint" ? value.toString() : value) + "\n";
}

/** A synchronous sink: no line is lost when the process exits right after. */
function stderrSink(formatter: TextFormatter): Sink {
  const encoder = new TextEncoder();
  return (record: LogRecord) => {
    const bytes = encoder.encode(formatter(record));
    for (let written = 0; written < bytes.length;) {
      written += Deno.stderr.writeSync(bytes.subarray(written));
    }
  };
}

/** Returns the logger for a sub-category of `kleff`, e.g. `log("operator")`. */
export function log(...category: string[]): Logger {
  return getLogger(["kleff", ...category]);
}
