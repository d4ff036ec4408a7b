// Reads the module graph Deno resolves (`deno info --json`) and finds imports that cross the
// project's layer boundaries, naming the importing module and the import.

/** One module of `deno info --json`. */
interface InfoModule {
  specifier: string;
  kind?: string;
  local?: string;
  npmPackage?: string;
  dependencies?: {
    specifier: string;
    code?: { specifier: string };
    type?: { specifier: string };
  }[];
}

/** An import edge: `from` (a repository path or specifier) imports `to`. */
export interface Edge {
  /** The importing module, relative to the repository root when local. */
  from: string;
  /** The imported module, relative to the repository root when local, else its specifier. */
  to: string;
}

/** The module graph of some roots: every module and every import edge. */
export interface ModuleGraph {
  /** Every module reached, relative to the repository root when local. */
  modules: string[];
  /** Every import edge. */
  edges: Edge[];
  /** Local source text by relative path. */
  sources: Map<string, string>;
}

const ROOT = new URL("../../", import.meta.url);

/** A specifier as the rules see it: `lib/x.ts` for local files, `npm:name` for npm packages. */
function display(specifier: string, npmPackage?: string): string {
  if (specifier.startsWith(ROOT.href)) return specifier.slice(ROOT.href.length);
  if (specifier.startsWith("npm:")) {
    const name = npmPackage ?? specifier.slice(4).replace(/^\//, "");
    return `npm:${name.replace(/@[^@/]+(_.*)?$/, "")}`;
  }
  return specifier;
}

/** Runs `deno info --json` on one entry module (a path relative to the repository root). */
export async function moduleGraph(entry: string): Promise<ModuleGraph> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`deno info ${entry} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    modules: InfoModule[];
    redirects: Record<string, string>;
  };
  const npmOf = new Map(info.modules.map((module) => [module.specifier, module.npmPackage]));
  const resolve = (specifier: string) => info.redirects[specifier] ?? specifier;
  const name = (specifier: string) => display(resolve(specifier), npmOf.get(resolve(specifier)));
  const edges: Edge[] = [];
  const sources = new Map<string, string>();
  for (const module of info.modules) {
    const from = name(module.specifier);
    if (module.local && module.specifier.startsWith(ROOT.href)) {
      sources.set(from, await Deno.readTextFile(module.local));
    }
    for (const dependency of module.dependencies ?? []) {
      const target = dependency.code?.specifier ?? dependency.type?.specifier;
      if (target !== undefined) edges.push({ from, to: name(target) });
    }
  }
  return { modules: info.modules.map((module) => name(module.specifier)), edges, sources };
}

/** A layer rule: modules matching `layer` may import only what `allowed` accepts. */
export interface LayerRule {
  /** The rule's name, shown in violations. */
  name: string;
  /** Which modules the rule applies to. */
  layer: (module: string) => boolean;
  /** Whether a module of the layer may import `target`. */
  allowed: (target: string) => boolean;
  /** Source patterns the layer's modules must not contain (Deno APIs, clocks). */
  forbiddenSource?: RegExp;
}

/** Every edge and source line that breaks a rule, as readable sentences. */
export function violations(graph: ModuleGraph, rules: readonly LayerRule[]): string[] {
  const found = new Set<string>();
  for (const rule of rules) {
    for (const edge of graph.edges) {
      if (rule.layer(edge.from) && !rule.allowed(edge.to)) {
        found.add(`${edge.from} imports ${edge.to} (${rule.name})`);
      }
    }
    if (rule.forbiddenSource === undefined) continue;
    for (const [module, text] of graph.sources) {
      if (!rule.layer(module)) continue;
      const lines = text.split("\n");
      lines.forEach((line, index) => {
        const code = line.replace(/\/\/.*$/, "").replace(/^\s*\*.*$/, "");
        const match = rule.forbiddenSource!.exec(code);
        if (match) found.add(`${module}:${index + 1} uses ${match[0]} (${rule.name})`);
      });
    }
  }
  return [...found].sort();
}
