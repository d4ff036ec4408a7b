// How to start the peer operator (peer_operator.ts) as its own process under this folder's
// deno.json and frozen lockfile. It imports nothing that pulls in client-node, so the root
// package (the bench, tests) can use it.
import { OPERATOR_ENV, OPERATOR_V8_FLAGS, type ProcessCommand } from "../operator_process.ts";

const HERE = new URL("./", import.meta.url);

/**
 * The command that runs the peer with `flags`, with the operator's V8 flags
 * ({@linkcode OPERATOR_V8_FLAGS}) and environment ({@linkcode OPERATOR_ENV}) so that speed and
 * memory compare designs, not runtime settings.
 */
export function peerCommand(flags: readonly string[]): ProcessCommand {
  const args = [
    "run",
    "--config",
    new URL("deno.json", HERE).pathname,
    "--lock",
    new URL("deno.lock", HERE).pathname,
    "--frozen",
    // Deno's own progress lines (the first run downloads client-node) are not the peer's output.
    "--quiet",
    "--allow-net",
    "--allow-read",
    "--allow-env",
    `--v8-flags=${OPERATOR_V8_FLAGS}`,
    new URL("peer_operator.ts", HERE).pathname,
    ...flags,
  ];
  return { args, env: { ...OPERATOR_ENV } };
}
