// The layer boundaries of ARCHITECTURE.md, enforced on the module graph Deno resolves: the Tenant
// API, the plans and the reconcile decisions do no I/O, and nothing the image runs imports the
// test bed, the tools or the tests.
import assert from "node:assert/strict";
import {
  type LayerRule,
  type ModuleGraph,
  moduleGraph,
  violations,
} from "../support/module_graph.ts";

/** The pure core: types, plans and decisions. */
const PURE = /^lib\/(api|reconcile|plans)\/|^lib\/(ip|hash)\.ts$/;

const RULES: readonly LayerRule[] = [
  {
    name: "the pure core does no I/O",
    layer: (module) => PURE.test(module),
    allowed: (target) =>
      PURE.test(target) || target === "npm:kubernetes-types" || target === "npm:yaml",
    forbiddenSource:
      /\bDeno\.|\bfetch\(|\bsetTimeout\(|\bsetInterval\(|\bDate\.now\(|new Date\(\)|\bMath\.random\(/,
  },
  {
    name: "the operator imports only lib/ and npm packages",
    layer: (module) => module === "mod.ts" || module.startsWith("lib/"),
    allowed: (target) =>
      target.startsWith("lib/") || target.startsWith("npm:") || target.startsWith("node:"),
  },
];

async function graphOf(entries: string[]): Promise<ModuleGraph> {
  const graphs = await Promise.all(entries.map(moduleGraph));
  return {
    modules: [...new Set(graphs.flatMap((graph) => graph.modules))],
    edges: graphs.flatMap((graph) => graph.edges),
    sources: new Map(graphs.flatMap((graph) => [...graph.sources])),
  };
}

async function libModules(): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(new URL(`../../${dir}`, import.meta.url))) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.name.endsWith(".ts")) found.push(path);
    }
  };
  await walk("lib");
  return found.sort();
}

/** The graph of mod.ts and every lib module, read once for the tests below. */
let operatorGraph: Promise<ModuleGraph> | undefined;
function operator(): Promise<ModuleGraph> {
  return operatorGraph ??= libModules().then((modules) => graphOf(["mod.ts", ...modules]));
}

Deno.test("no import crosses a layer boundary", async () => {
  const graph = await operator();
  assert.deepEqual(violations(graph, RULES), []);
});

/** `lib/<folder>/` of a module inside a lib folder, else undefined (lib/*.ts, npm, ...). */
function libFolder(module: string): string | undefined {
  return /^(lib\/[a-z_]+\/)/.exec(module)?.[1];
}

Deno.test("another lib folder is imported only through its mod.ts", async () => {
  const graph = await operator();
  const reaching = graph.edges.filter((edge) => {
    const from = libFolder(edge.from);
    const to = libFolder(edge.to);
    return from !== undefined && to !== undefined && from !== to && !edge.to.endsWith("/mod.ts");
  }).map((edge) => `${edge.from} imports ${edge.to}`);
  assert.deepEqual([...new Set(reaching)], []);
});

Deno.test("decide.ts loads only the pure core", async () => {
  const graph = await moduleGraph("lib/reconcile/decide.ts");
  const outside = graph.modules.filter((module) =>
    !PURE.test(module) && !module.startsWith("npm:kubernetes-types") && module !== "npm:yaml"
  );
  assert.deepEqual(outside, []);
});

Deno.test("the checker names a crossing import, a forbidden API and a clock", () => {
  const graph: ModuleGraph = {
    modules: [],
    edges: [
      { from: "lib/reconcile/decide.ts", to: "lib/client/mod.ts" },
      { from: "lib/operator/run.ts", to: "dev_apiserver/mod.ts" },
      { from: "lib/reconcile/decide.ts", to: "node:https" },
      { from: "lib/reconcile/decide.ts", to: "lib/api/mod.ts" },
    ],
    sources: new Map([
      ["lib/reconcile/decide.ts", "// Deno.readFile in a comment is fine\nconst t = Date.now();\n"],
      ["lib/plans/parse.ts", "await Deno.readTextFile(path);\n"],
    ]),
  };
  assert.deepEqual(violations(graph, RULES), [
    "lib/operator/run.ts imports dev_apiserver/mod.ts (the operator imports only lib/ and npm packages)",
    "lib/plans/parse.ts:1 uses Deno. (the pure core does no I/O)",
    "lib/reconcile/decide.ts imports lib/client/mod.ts (the pure core does no I/O)",
    "lib/reconcile/decide.ts imports node:https (the pure core does no I/O)",
    "lib/reconcile/decide.ts:2 uses Date.now( (the pure core does no I/O)",
  ]);
});
