// The operator process: flags, logging, connection, and the manager run until
// SIGINT/SIGTERM, with exit codes a supervisor (kubelet, systemd) understands.
import type { Lease } from "kubernetes-types/coordination/v1.d.ts";
import { connect, KubeconfigError, leases } from "../client/mod.ts";
import { LeaderElector } from "../leader/mod.ts";
import {
  type BindAddress,
  type EndpointHandlers,
  type EndpointServer,
  serveEndpoints,
} from "./endpoints.ts";
import { CatalogueError } from "../plans/mod.ts";
import { loadPlans } from "./plan_source.ts";
import { log, setupLogging } from "../log.ts";
import { Registry } from "../metrics/mod.ts";
import { Manager } from "./manager.ts";
import {
  checkKubernetesVersion,
  KubernetesVersionError,
  UnsupportedKubernetesError,
} from "./kubernetes_version.ts";
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

/** Thrown when a probe or metrics address cannot be served. */
export class EndpointError extends Error {
  /** Builds the error naming what could not be served where. */
  constructor(what: string, address: BindAddress, cause: unknown) {
    super(
      `cannot serve ${what} on ${address.hostname}:${address.port}: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
    this.name = "EndpointError";
  }
}

/** Starts an endpoint server and logs its bound address. */
function serve(what: string, address: BindAddress, handlers: EndpointHandlers): EndpointServer {
  let server: EndpointServer;
  try {
    server = serveEndpoints(address, handlers);
  } catch (error) {
    throw new EndpointError(what, address, error);
  }
  log("operator").info(`serving ${what} on {address}`, {
    address: `${
      address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname
    }:${server.port}`,
  });
  return server;
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
  const endpoints: EndpointServer[] = [];
  try {
    const registry = new Registry();
    const client = await connect({
      kubeconfig: options.kubeconfig,
      context: options.context,
      metrics: registry,
    });
    try {
      log("operator").info("connected to {server}", { server: client.server });
      await checkKubernetesVersion(client, {
        allowUnsupported: options.allowUnsupportedKubernetes,
        signal: stop.signal,
      });
      const identity = processIdentity();
      const manager = new Manager(client, {
        concurrency: options.concurrency,
        resyncPeriodMs: options.resyncPeriodMs,
        metrics: registry,
        instance: identity,
        plans: await loadPlans(options.plans, client, { signal: stop.signal }),
        ingressNamespace: options.ingressNamespace,
        gatewayHosts: options.gatewayHosts,
        discoveryIntervalMs: options.discoveryIntervalMs,
      });
      if (options.healthProbeAddress) {
        endpoints.push(
          serve("health probes", options.healthProbeAddress, {
            healthz: () => ({ ready: true, detail: "alive" }),
            readyz: () => manager.readiness(),
          }),
        );
      }
      if (options.metricsAddress) {
        endpoints.push(
          serve("metrics", options.metricsAddress, { metrics: () => registry.expose() }),
        );
      }
      const election = options.leaderElection;
      const outcome = await manager.run(stop.signal, {
        election: election && new LeaderElector(client.resource<Lease>(leases), {
          namespace: election.namespace ?? Deno.env.get("POD_NAMESPACE") ?? client.namespace,
          name: election.name,
          identity,
          leaseDurationMs: election.leaseDurationMs,
          renewDeadlineMs: election.renewDeadlineMs,
          retryPeriodMs: election.retryPeriodMs,
          metrics: registry,
        }),
      });
      if (outcome === "lost") {
        log("operator").fatal("leader election lost: exiting so that a fresh replica takes over");
        return 1;
      }
      return 0;
    } finally {
      client.close();
    }
  } catch (error) {
    if (
      error instanceof KubeconfigError || error instanceof CatalogueError ||
      error instanceof EndpointError || error instanceof UnsupportedKubernetesError ||
      error instanceof KubernetesVersionError
    ) {
      log("operator").fatal("{error}", { error: error.message });
      return 1;
    }
    throw error;
  } finally {
    await Promise.all(endpoints.map((endpoint) => endpoint.close()));
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
