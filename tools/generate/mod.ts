// The generated files of the repository (`deno task generate`): the Tenant API reference, the
// PrometheusRule and the Grafana dashboard. Each is rendered from its source and formatted with
// `deno fmt`, so that a test can regenerate each one and compare it with the file checked in.
import { apiReference } from "./api_reference.ts";
import { dashboardJson } from "./dashboard.ts";
import { prometheusRule } from "./prometheus_rule.ts";

const ROOT = new URL("../../", import.meta.url);

/** A generated file: its path in the repository and how to render it. */
export interface GeneratedFile {
  /** Path relative to the repository root. */
  path: string;
  /** The file's content before formatting. */
  render: () => Promise<string> | string;
}

/** Every generated file. */
export const GENERATED: readonly GeneratedFile[] = [
  { path: "docs/api.md", render: apiReference },
  { path: "deploy/monitoring/prometheus_rule.yaml", render: prometheusRule },
  { path: "deploy/monitoring/dashboard.json", render: dashboardJson },
];

/** Thrown when `deno fmt` refuses a rendered file. */
export class FormatError extends Error {
  /** Builds the error naming the file and what deno fmt said. */
  constructor(path: string, detail: string) {
    super(`deno fmt of the generated ${path} failed: ${detail}`);
    this.name = "FormatError";
  }
}

/** `text` as `deno fmt` (with the repository's configuration) formats a file named `path`. */
export async function format(path: string, text: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", `--ext=${path.split(".").at(-1)}`, "-"],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const output = await child.output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  if (!output.success) throw new FormatError(path, decode(output.stderr));
  return decode(output.stdout);
}

/** The formatted content `file` must have. */
export async function expected(file: GeneratedFile): Promise<string> {
  return await format(file.path, await file.render());
}

/** The content of `file` in the repository, or `undefined` when it does not exist. */
export async function current(file: GeneratedFile): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(new URL(file.path, ROOT));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Writes every generated file; resolves to the paths that changed. */
export async function generate(): Promise<string[]> {
  const changed: string[] = [];
  for (const file of GENERATED) {
    const text = await expected(file);
    if (text === await current(file)) continue;
    await Deno.writeTextFile(new URL(file.path, ROOT), text);
    changed.push(file.path);
  }
  return changed;
}
