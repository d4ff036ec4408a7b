// External tools the tests drive (kubectl, promtool, prometheus, npx): run one to completion with
// its output decoded, or note once why the tests that need it are skipped.
import { onPath } from "./fs.ts";

/** What a finished command printed and how it exited. */
export interface ToolRun {
  /** Exit code. */
  code: number;
  /** Standard output, decoded. */
  stdout: string;
  /** Standard error, decoded. */
  stderr: string;
}

/** Options of {@linkcode runTool}. */
export interface RunToolOptions {
  /** Text written to standard input. */
  stdin?: string;
  /** Working directory. */
  cwd?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/** Runs `command` with `args` to completion. */
export async function runTool(
  command: string,
  args: string[],
  options: RunToolOptions = {},
): Promise<ToolRun> {
  const child = new Deno.Command(command, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const output = await child.output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/**
 * Whether every one of `tools` is on PATH; when one is not, prints a note saying which tests are
 * skipped and why.
 */
export function toolsPresent(tools: string[], tests: string): boolean {
  const missing = tools.filter((tool) => !onPath(tool));
  if (missing.length > 0) {
    console.log(`note: ${missing.join(", ")} not found on PATH: ${tests} are skipped`);
  }
  return missing.length === 0;
}
