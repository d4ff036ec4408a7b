// The image holds the operator only. Deno installs every npm package of deno.lock as soon as one
// is needed, so what the image's `deno cache` downloads is deno.lock's whole npm snapshot: these
// tests copy what the Dockerfile COPYs into a folder of their own and ask `deno info` there that
// the snapshot is exactly the packages mod.ts's module graph uses (no test-only package such as
// @kubernetes/client-node), and print the size of that dependency cache.
import assert from "node:assert/strict";
import { type Instruction, instructions, words } from "../../support/dockerfile.ts";
import { copyTree, treeSize, withDir } from "../../support/fs.ts";

const ROOT = new URL("../../../", import.meta.url).pathname.replace(/\/$/, "");
/** Folders that are not the operator and must never reach the image. */
const NOT_OPERATOR = ["dev_apiserver/", "tools/", "tests/", "bench/", "deploy/"];
/** A generous ceiling for the image's npm cache (it was 87 MiB with @kubernetes/client-node). */
const NPM_CACHE_BUDGET_MIB = 10;

/** One COPY from the build context: its sources and destination (flags dropped). */
interface Copy {
  sources: string[];
  dest: string;
}

/** The COPY instructions of `dockerfile` (COPY --from=… copies from another stage, not the context). */
function copies(dockerfile: Instruction[]): Copy[] {
  return dockerfile.filter((i) => i.keyword === "COPY").map((i) => {
    const all = words(i.args);
    assert.ok(!all.some((w) => w.startsWith("--from")), `a single-stage build: COPY ${i.args}`);
    const paths = all.filter((w) => !w.startsWith("--"));
    assert.ok(paths.length >= 2, `COPY ${i.args}`);
    return { sources: paths.slice(0, -1), dest: paths.at(-1)! };
  });
}

/** Whether `.dockerignore` lets the top-level `path` into the build context (last match wins). */
function inContext(dockerignore: string, path: string): boolean {
  const name = path.replace(/^\.\//, "").replace(/\/$/, "");
  let included = true;
  for (const raw of dockerignore.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const negated = line.startsWith("!");
    const pattern = line.slice(negated ? 1 : 0).replace(/^\//, "").replace(/\/$/, "");
    const regex = new RegExp(
      `^${
        pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")
      }$`,
    );
    if (regex.test(name)) included = negated;
  }
  return included;
}

/** Carries out `copy` from the repository into `workdir`, the way `docker build` does. */
async function applyCopy(copy: Copy, workdir: string): Promise<void> {
  const dest = copy.dest.startsWith("/app/") || copy.dest === "/app"
    ? copy.dest.slice("/app".length).replace(/^\//, "./")
    : copy.dest;
  assert.ok(!dest.startsWith("/"), `COPY into the WORKDIR /app, not ${copy.dest}`);
  const target = `${workdir}/${dest}`;
  for (const source of copy.sources) {
    const from = `${ROOT}/${source}`;
    if ((await Deno.stat(from)).isDirectory) {
      await copyTree(from, target); // a folder's contents, like docker
    } else if (dest.endsWith("/") || copy.sources.length > 1) {
      await Deno.mkdir(target, { recursive: true });
      await Deno.copyFile(from, `${target}/${source.split("/").at(-1)}`);
    } else {
      await Deno.copyFile(from, target);
    }
  }
}

/** The parts of `deno info --json` these tests read. */
interface Graph {
  modules: { specifier: string; kind?: string; error?: string; npmPackage?: string }[];
  npmPackages: Record<string, { dependencies: string[]; localPath?: string }>;
}

/** `deno info --frozen --json entry` run in `cwd` (so with the deno.json and deno.lock there). */
async function denoInfo(cwd: string, entry: string): Promise<Graph> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--frozen", "--json", entry],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

/** The npm packages the graph's modules import, with everything those depend on. */
function packagesUsed(graph: Graph): Set<string> {
  const used = new Set<string>();
  const pending = graph.modules.flatMap((module) => module.npmPackage ?? []);
  for (let id = pending.pop(); id !== undefined; id = pending.pop()) {
    if (used.has(id)) continue;
    used.add(id);
    pending.push(...(graph.npmPackages[id]?.dependencies ?? []));
  }
  return used;
}

/** The graph's local modules, relative to `dir`. */
function localModules(graph: Graph, dir: string): string[] {
  const prefix = new URL(`file://${dir}/`).href;
  return graph.modules.filter((m) => m.specifier.startsWith("file:")).map((m) => {
    assert.ok(m.specifier.startsWith(prefix), `${m.specifier} is outside ${dir}`);
    return m.specifier.slice(prefix.length);
  }).sort();
}

const dockerfile = instructions(await Deno.readTextFile(`${ROOT}/Dockerfile`));

Deno.test("the Dockerfile copies the operator only, and .dockerignore lets in just that", async () => {
  const sources = copies(dockerfile).flatMap((copy) => copy.sources);
  assert.ok(sources.length > 0, "the Dockerfile copies something");
  const dockerignore = await Deno.readTextFile(`${ROOT}/.dockerignore`);
  for (const source of sources) {
    const path = source.replace(/^\.\//, "");
    assert.ok(!NOT_OPERATOR.some((folder) => `${path}/`.startsWith(folder)), `COPY ${source}`);
    assert.ok(inContext(dockerignore, source), `.dockerignore keeps ${source} out of the context`);
  }
  const context: string[] = [];
  for await (const entry of Deno.readDir(ROOT)) {
    if (inContext(dockerignore, entry.name)) context.push(entry.name);
  }
  const copied = sources.map((source) => source.replace(/^\.\//, "").replace(/\/$/, ""));
  assert.deepEqual(
    context.sort(),
    [...new Set(copied)].sort(),
    "the build context is what is copied",
  );
});

Deno.test("the image caches exactly the npm packages mod.ts uses, no test-only one", async () => {
  const cache = dockerfile.find((i) => i.keyword === "RUN" && /^deno cache\b/.test(i.args));
  assert.ok(cache, "RUN deno cache …");
  const cacheArgs = words(cache.args);
  assert.ok(cacheArgs.includes("--frozen"), "the lockfile is never rewritten at build time");
  const entry = cacheArgs.at(-1)!;
  await withDir(async (dir) => {
    for (const copy of copies(dockerfile)) await applyCopy(copy, dir);
    const image = await denoInfo(dir, entry);
    const broken = image.modules.filter((module) => module.error);
    assert.deepEqual(broken, [], "every module of the graph is in what the Dockerfile copies");
    const modules = localModules(image, dir);
    assert.deepEqual(
      modules,
      localModules(await denoInfo(ROOT, entry), ROOT),
      `the image's ${entry} is the repository's`,
    );
    for (const path of modules) {
      assert.ok(!NOT_OPERATOR.some((folder) => path.startsWith(folder)), path);
    }

    const installed = Object.keys(image.npmPackages).sort();
    assert.deepEqual(
      installed,
      [...packagesUsed(image)].sort(),
      "deno.lock holds npm packages mod.ts does not use, and the image would download them",
    );
    assert.deepEqual(installed.filter((id) => id.startsWith("@kubernetes/client-node@")), []);

    let bytes = 0;
    for (const id of installed) {
      const path = image.npmPackages[id].localPath;
      assert.ok(path, `${id} is in Deno's cache`);
      bytes += await treeSize(path);
    }
    const mib = bytes / 2 ** 20;
    console.log(
      `image dependency cache: ${installed.length} npm packages, ${mib.toFixed(1)} MiB ` +
        `(${installed.join(", ")})`,
    );
    assert.ok(mib < NPM_CACHE_BUDGET_MIB, `${mib.toFixed(1)} MiB`);
  });
});

Deno.test("`deno task dev` downloads only what the operator and the playground use", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`)) as {
    tasks: Record<string, string>;
  };
  const playground = config.tasks.dev.split(/\s+/).at(-1)!;
  assert.match(playground, /\.ts$/, `the dev task runs a module: ${config.tasks.dev}`);
  const dev = await denoInfo(ROOT, playground);
  const operator = await denoInfo(ROOT, "mod.ts");
  const installed = Object.keys(dev.npmPackages).sort();
  assert.deepEqual(installed, Object.keys(operator.npmPackages).sort(), "one root lockfile");
  const used = new Set([...packagesUsed(dev), ...packagesUsed(operator)]);
  assert.deepEqual(installed.filter((id) => !used.has(id)), [], "downloaded but never imported");
});
