// `deno task chaos`: one chaos run from the command line; exits 1 on any
// invariant violation (printing the seed and the replay command), 2 on bad flags.
import { CHAOS_HELP, ChaosOptionsError, formatReport, parseChaosOptions, runChaos } from "./mod.ts";

/** Parses `args`, runs, prints the report; resolves to the exit code. */
export async function chaosMain(args: string[]): Promise<number> {
  let options;
  try {
    options = parseChaosOptions(args);
  } catch (error) {
    if (!(error instanceof ChaosOptionsError)) throw error;
    console.error(`error: ${error.message}\n\n${CHAOS_HELP}`);
    return 2;
  }
  if (options.help) {
    console.log(CHAOS_HELP);
    return 0;
  }
  console.log(`chaos: seed ${options.seed}`);
  const report = await runChaos(options, (line) => console.log(`chaos: ${line}`));
  console.log(formatReport(report));
  return report.violations ? 1 : 0;
}

if (import.meta.main) Deno.exit(await chaosMain(Deno.args));
