// How to start the operator as its own process (`deno run … mod.ts`), for the
// benchmarks, the chaos suite and process-level tests: one list of the Deno
// permissions and V8 flags, the same as `deno task start` without
// `--allow-run` (no exec credential plugins) and as the image's ENTRYPOINT.

const MOD = new URL("../mod.ts", import.meta.url).pathname;

/** Deno permissions and flags of an operator process. */
const OPERATOR_DENO_FLAGS: readonly string[] = [
  "--allow-net",
  "--allow-read",
  "--allow-env",
  "--allow-sys=hostname",
  "--v8-flags=--optimize-for-size",
];

/** The arguments of `Deno.execPath()` that run the operator with `flags`. */
export function operatorRunArgs(flags: readonly string[]): string[] {
  return ["run", ...OPERATOR_DENO_FLAGS, MOD, ...flags];
}
