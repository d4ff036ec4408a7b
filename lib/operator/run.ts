// The operator process: flags, logging, connection, and the manager run until
// SIGINT/SIGTERM, with exit codes a supervisor (kubelet, systemd) understands.
import { connect, KubeconfigError } from "../client/mod.ts";
import { CatalogueError, loadPlans } from "../plans/mod.ts";
import { log, setupLogging } from "../log.ts";
import { Registry } from "../metrics/registry.ts";
import { Manager } from "./manager.ts";
import { HELP, type OperatorOptions, OptionsError, parseOperatorOptions } from "./options.ts";

/** Options of {@linkcode runOperator} beyond the parsed flags. */
export interface RunOptions {
  /** Stops the operator (in addition to SIGINT/SIGTERM when `handleSignals`). */
  signal?: AbortSignal;
  /** Install SIGINT/SIGTERM handlers (default true). */
  handleSignals?: boolean;
}

/** A unique-enough identity for this process (Events, leader election). */
export function processIdentity(): string {
  let host = "localhost";
  try {
    host = Deno.env.get("POD_NAME") ?? Deno.hostname();
  } catch {
    // No permission to read the host name: keep the fallback.
  }
  return `${host}_${crypto.randomUUID().slice(0, 8)}`;
}

/** Runs the operator with already parsed options until stopped; resolves to the exit code. */
export async function runOperator(options: OperatorOptions, run: RunOptions = {}): Promise<number> {
  await setupLogging({ level: options.logLevel, format: options.logFormat });
  const stop = new AbortController();
  const onSignal = () => {
    log("operator").info("signal received: finishing in-flight reconciles");
    stop.abort();
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  if (run.handleSignals ?? true) {
    for (const name of signals) Deno.addSignalListener(name, onSignal);
  }
  run.signal?.addEventListener("abort", () => stop.abort(), { once: true });
  try {
    const client = await connect({ kubeconfig: options.kubeconfig, context: options.context });
    try {
      log("operator").info("connected to {server}", { server: client.server });
      const manager = new Manager(client, {
        concurrency: options.concurrency,
        resyncPeriodMs: options.resyncPeriodMs,
        metrics: new Registry(),
        instance: processIdentity(),
        plans: await loadPlans(options.plans, client, { signal: stop.signal }),
        ingressNamespace: options.ingressNamespace,
        gatewayHosts: options.gatewayHosts,
        discoveryIntervalMs: options.discoveryIntervalMs,
      });
      await manager.run(stop.signal);
      return 0;
    } finally {
      client.close();
    }
  } catch (error) {
    if (error instanceof KubeconfigError || error instanceof CatalogueError) {
      log("operator").fatal("{error}", { error: error.message });
      return 1;
    }
    throw error;
  } finally {
    if (run.handleSignals ?? true) {
      for (const name of signals) Deno.removeSignalListener(name, onSignal);
    }
  }
}

/** The command-line entry point: parses `args`, prints help or errors, runs. */
export async function main(args: string[]): Promise<number> {
  let options: OperatorOptions;
  try {
    options = parseOperatorOptions(args);
  } catch (error) {
    if (!(error instanceof OptionsError)) throw error;
    console.error(`error: ${error.message}\n\n${HELP}`);
    return 2;
  }
  if (options.help) {
    console.log(HELP);
    return 0;
  }
  return await runOperator(options);
}
