// The kleff tenant operator: run this file to start the operator; import it to
// embed the operator or its Kubernetes client.
import { main } from "./lib/operator/run.ts";

export { main, processIdentity, runOperator, type RunOptions } from "./lib/operator/run.ts";
export { type OperatorOptions, parseOperatorOptions } from "./lib/operator/options.ts";
export * from "./lib/api/mod.ts";
export { connect, KubeClient, type KubeClientOptions } from "./lib/client/mod.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
