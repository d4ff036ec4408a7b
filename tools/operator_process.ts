// How to start the operator as its own process (`deno run … mod.ts`), for the
// benchmarks, the chaos suite and process-level tests: one command with the Deno
// permissions and V8 flags, the same as `deno task start` without
// `--allow-run` (no exec credential plugins) and as the image's ENTRYPOINT, and
// the environment both set.

const MOD = new URL("../mod.ts", import.meta.url).pathname;

/**
 * The operator's V8 flags (as in `deno task start` and the image): young-generation semi-spaces of
 * up to 4 MiB, so that a reconcile's garbage (it lives for its round trips, tens of ms) dies young
 * instead of being promoted, and an old generation grown by a tenth at a time, so that the
 * garbage of a start-up is collected, not kept as room. The README's benchmarks say why.
 */
export const OPERATOR_V8_FLAGS = "--max-semi-space-size=4,--heap-growing-percent=10";

/**
 * The environment of an operator process (as in `deno task start` and the image): glibc malloc
 * settings. One arena for all of Deno's threads: with an arena per thread (up to eight per core),
 * what V8's background threads (compiler, garbage collector) allocate during a start-up over
 * thousands of objects stays resident in arenas of their own. A trim threshold set to its default
 * (128 KiB): setting it stops glibc from raising its mmap threshold to the size of the largest
 * buffer freed so far, so large transient buffers (a page of a list) go back to the system instead
 * of fragmenting the heap. A restart over 10,000 tenants settled about 8 MiB lower with both; the
 * README's benchmarks give the figures.
 */
export const OPERATOR_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: "1",
  MALLOC_TRIM_THRESHOLD_: "131072",
};

/** Deno permissions and flags of an operator process. */
const OPERATOR_DENO_FLAGS: readonly string[] = [
  "--allow-net",
  "--allow-read",
  "--allow-env",
  "--allow-sys=hostname",
  `--v8-flags=${OPERATOR_V8_FLAGS}`,
];

/** How to run a process: the arguments of `Deno.execPath()` and the environment to add. */
export interface ProcessCommand {
  /** Arguments of `Deno.execPath()`. */
  args: string[];
  /** Variables added to the inherited environment. */
  env: Record<string, string>;
}

/** The command that runs the operator with `flags`: its permissions, V8 flags and environment. */
export function operatorCommand(flags: readonly string[]): ProcessCommand {
  return { args: ["run", ...OPERATOR_DENO_FLAGS, MOD, ...flags], env: { ...OPERATOR_ENV } };
}
