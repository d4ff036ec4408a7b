// `deno task generate`: regenerates the generated files (the Tenant API reference, the
// PrometheusRule, the Grafana dashboard) from their sources; `--check` only reports stale ones.
import { current, expected, generate, GENERATED } from "./mod.ts";

if (import.meta.main) {
  if (Deno.args.includes("--check")) {
    const stale: string[] = [];
    for (const file of GENERATED) {
      if (await expected(file) !== await current(file)) stale.push(file.path);
    }
    if (stale.length > 0) {
      console.error(`stale: ${stale.join(", ")}; run \`deno task generate\``);
      Deno.exit(1);
    }
    console.log(`up to date: ${GENERATED.map((file) => file.path).join(", ")}`);
  } else {
    const changed = await generate();
    console.log(changed.length > 0 ? `wrote ${changed.join(", ")}` : "nothing to regenerate");
  }
}
