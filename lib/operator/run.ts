// The operator process: flags, logging, connection, and the manager run until
// SIGINT/SIGTERM, with exit codes a supervisor (kubelet, systemd) understands. A
// signal stops it at any moment (start-up, discovery, leader election, a sync, a
// reconcile) within the shutdown budget: everything it waits on takes the signal.
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
import { registerProcessMetrics, Registry } from "../metrics/mod.ts";
import { Manager } from "./manager.ts";
import { MetricsServingError, serveMetrics } from "./metrics_server.ts";
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

/**
 * The operator's own namespaces, reserved so that no tenant can own them: its pod's
 * (`POD_NAMESPACE`), its Lease's (with leader election) and its plan catalogue ConfigMap's.
 * `kubeconfigNamespace` is the namespace of the kubeconfig context, the Lease's last resort.
 */
function operatorNamespaces(options: OperatorOptions, kubeconfigNamespace: string): string[] {
  const pod = Deno.env.get("POD_NAMESPACE");
  return [
    pod,
    options.leaderElection && (options.leaderElection.namespace ?? pod ?? kubeconfigNamespace),
    options.plans.kind === "configMap" ? options.plans.namespace : undefined,
  ].filter((name): name is string => name !== undefined && name !== "");
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
  const stop = new AbortController();
  const onSignal = () => {
    log("operator").info("signal received: stopping (in-flight requests are aborted)");
    stop.abort();
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  if (run.handleSignals ?? true) {
    for (const name of signals) Deno.addSignalListener(name, onSignal);
  }
  run.signal?.addEventListener("abort", () => stop.abort(), { once: true });
  await setupLogging({ level: options.logLevel, format: options.logFormat });
  const endpoints: EndpointServer[] = [];
  try {
    const registry = new Registry();
    registerProcessMetrics(registry);
    const client = await connect({
      kubeconfig: options.kubeconfig,
      context: options.context,
      metrics: registry,
      timeoutMs: options.requestTimeoutMs,
    });
    try {
      log("operator").info("connected to {server}", { server: client.server });
      // Probes answer from the start: alive, not ready until the manager's watches have synced.
      const started: { manager?: Manager } = {};
      if (options.healthProbeAddress) {
        endpoints.push(
          serve("health probes", options.healthProbeAddress, {
            healthz: () => started.manager?.liveness() ?? { ready: true, detail: "starting" },
            readyz: () =>
              started.manager?.readiness() ?? { ready: false, detail: "watches not started" },
          }),
        );
      }
      const version = await checkKubernetesVersion(client, {
        allowUnsupported: options.allowUnsupportedKubernetes,
        signal: stop.signal,
      });
      if (version === undefined) throw stop.signal.reason;
      const identity = processIdentity();
      const manager = started.manager = new Manager(client, {
        concurrency: options.concurrency,
        resyncPeriodMs: options.resyncPeriodMs,
        metrics: registry,
        instance: identity,
        plans: await loadPlans(options.plans, client, { signal: stop.signal }),
        ingressNamespace: options.ingressNamespace,
        gatewayHosts: options.gatewayHosts,
        meshEgressNamespaces: options.meshEgressNamespaces,
        reservedNamespaces: [
          ...options.reservedNamespaces,
          ...operatorNamespaces(options, client.namespace),
        ],
        discoveryIntervalMs: options.discoveryIntervalMs,
        requestTimeoutMs: options.requestTimeoutMs,
        watchTimings: { inactivityTimeoutMs: options.watchInactivityTimeoutMs },
      });
      if (options.metricsAddress) {
        endpoints.push(
          await serveMetrics({
            address: options.metricsAddress,
            secure: options.metricsSecure,
            certificate: options.metricsCertificate,
            metrics: () => registry.expose(),
            reviewer: client,
          }),
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
    if (stop.signal.aborted) {
      log("operator").info("stopped during start-up");
      return 0;
    }
    if (
      error instanceof KubeconfigError || error instanceof CatalogueError ||
      error instanceof EndpointError || error instanceof MetricsServingError ||
      error instanceof UnsupportedKubernetesError || error instanceof KubernetesVersionError
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
