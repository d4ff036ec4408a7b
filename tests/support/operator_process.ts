// The operator as a child process (`deno run mod.ts …`), with its JSON log
// lines parsed as they arrive: for tests of leader election, probes, metrics
// and logs as a cluster would see them.
import { operatorCommand } from "../../tools/operator_process.ts";
import { operatorFlagsForTestApiServer } from "./test_apiserver.ts";

/** One parsed JSON log line. */
export interface LogLine {
  level: string;
  message: string;
  logger?: string;
  properties?: Record<string, unknown>;
  [key: string]: unknown;
}

/** How to start the operator: a program and its options, given the operator's flags. */
export type OperatorLauncher = (
  flags: string[],
) => { program: string; options: Deno.CommandOptions };

/** `deno run` with the permissions and environment of tools/operator_process.ts and exactly `flags`. */
export function denoRun(flags: string[]): ReturnType<OperatorLauncher> {
  return { program: Deno.execPath(), options: operatorCommand(flags) };
}

/** {@linkcode denoRun} with what the run's API server needs ({@linkcode operatorFlagsForTestApiServer}). */
const denoRunForTestApiServer: OperatorLauncher = (flags) =>
  denoRun([...operatorFlagsForTestApiServer(), ...flags]);

/** A running operator process. */
export class OperatorProcess {
  readonly #child: Deno.ChildProcess;
  readonly lines: LogLine[] = [];
  readonly unparsed: string[] = [];
  /** Everything the process wrote to stdout, once it closed its stdout. */
  readonly stdout: Promise<string>;
  readonly #reading: Promise<void>;
  #waiters: (() => void)[] = [];
  exitCode?: number;

  /**
   * Starts the operator with JSON logs and `args`: by default `deno run mod.ts` with the image's
   * permissions and what the run's API server needs (see {@linkcode operatorFlagsForTestApiServer}),
   * else as `launcher` says.
   */
  constructor(args: string[], launcher: OperatorLauncher = denoRunForTestApiServer) {
    const { program, options } = launcher(["--log-format", "json", ...args]);
    this.#child = new Deno.Command(program, {
      ...options,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.stdout = new Response(this.#child.stdout).text();
    this.#reading = this.#read();
    this.#child.status.then((status) => this.exitCode = status.code);
  }

  async #read(): Promise<void> {
    let buffer = "";
    for await (const chunk of this.#child.stderr.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const text = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (text.trim() === "") continue;
        try {
          this.lines.push(JSON.parse(text));
        } catch {
          this.unparsed.push(text);
        }
        for (const wake of this.#waiters.splice(0)) wake();
      }
    }
    if (buffer.trim()) this.unparsed.push(buffer);
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Waits for a log line whose message matches; fails after `timeoutMs`. */
  async waitForLog(pattern: RegExp, timeoutMs = 15_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find((line) => pattern.test(line.message));
      if (found) return found;
      if (this.exitCode !== undefined) {
        await this.#reading;
        throw new Error(
          `operator exited (${this.exitCode}) before logging ${pattern}; it logged:\n${
            [
              ...this.lines.map((l) => `${l.message} ${JSON.stringify(l.properties ?? {})}`),
              ...this.unparsed,
            ]
              .join("\n")
          }`,
        );
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(
          `no log line matching ${pattern}; got:\n${this.lines.map((l) => l.message).join("\n")}\n${
            this.unparsed.join("\n")
          }`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, 200));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The `address` property of the "serving {what} on {address}" line. */
  async address(what: "health probes" | "metrics"): Promise<string> {
    const line = await this.waitForLog(new RegExp(`^serving ${what} on`));
    return String(line.properties?.address);
  }

  /** GETs a path on the health or metrics endpoint. */
  async get(what: "health probes" | "metrics", path: string): Promise<Response> {
    return await fetch(`http://${await this.address(what)}${path}`);
  }

  /** Sends a signal. */
  kill(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch {
      // Already gone.
    }
  }

  /** Waits for the exit code and the end of the log stream and of stdout. */
  async exited(): Promise<number> {
    const status = await this.#child.status;
    await Promise.all([this.#reading, this.stdout]);
    return status.code;
  }
}

/** Parses Prometheus text exposition into `name{labels}` -> value. */
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    samples.set(`${match[1]}${match[2] ?? ""}`, Number(match[3].replace("+Inf", "Infinity")));
  }
  return samples;
}
