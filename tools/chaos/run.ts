// One chaos run end to end: dev API server, CRD, replicas behind recording
// proxies, workload and faults for the duration, settle, invariants, cleanup.
import type { CustomResourceDefinition } from "kubernetes-types/apiextensions/v1.d.ts";
import type { Namespace } from "kubernetes-types/core/v1.d.ts";
import { parse } from "yaml";
import { startDevApiServer } from "../../dev_apiserver/mod.ts";
import { sleep } from "../../lib/backoff.ts";
import { connect, customResourceDefinitions, namespaces } from "../../lib/client/mod.ts";
import { checkCluster, type InvariantResult, readCluster, unsettled } from "./invariants.ts";
import { FaultSchedule, type LeaseRef } from "./faults.ts";
import { Ledger } from "./ledger.ts";
import type { ChaosOptions } from "./options.ts";
import {
  checkProcesses,
  checkPromptExits,
  checkSingleWriter,
  isLeaseWrite,
  type LogSummary,
  scanLog,
} from "./processes.ts";
import { Prng } from "./prng.ts";
import { WorkerSampler } from "./sampler.ts";
import type { RecordedWrite } from "./proxy.ts";
import { type ReplicaRecord, ReplicaSupervisor } from "./supervisor.ts";
import { releaseHold, Workload } from "./workload.ts";
import { GuardMonitor } from "./guard_monitor.ts";
import { CHAOS_ISTIO_CRDS } from "./hostile.ts";
import { checkHostClaims, checkSquatters } from "./isolation_invariants.ts";

/** The Lease the replicas elect a leader with. */
const CHAOS_LEASE: LeaseRef = { namespace: "kleff-system", name: "kleff-tenant-operator" };

/** Watch events the dev server keeps: small, so that resumes after drops often get 410. */
const CHAOS_HISTORY_LIMIT = 300;

/** Time between workload steps. */
const STEP_MS = 150;
/** Writes-free time after which the system counts as at rest. */
const QUIET_MS = 3000;
/**
 * Longest a tenant namespace may go without its quota, isolation and mTLS in force under the run's
 * faults. Without faults the operator restores a disowned or deleted guard rail in milliseconds
 * (`deno task bench isolation`). Here the worst case adds up: a SIGKILLed leader is replaced
 * after the 3 s lease and its restart pause (up to 3 s); the new leader starts reconciling only
 * once its watches have listed, and a watch refused by 429/500 bursts restarts with the client's
 * backoff (up to 30 s); a tenant whose writes fail retries with its own backoff (0.5 s doubling).
 * Runs show gaps up to about 50 s when several leader kills meet throttled watches. Anything
 * that waited for the periodic resync (10 min) instead of an event breaks the bound.
 */
export const GUARD_GAP_BOUND_MS = 60_000;

/** The replicas' request timeout: short, so that frozen connections cost little time. */
const REQUEST_TIMEOUT_MS = 2000;
/** The replicas' watch inactivity timeout (the dev server sends a bookmark every 2 s). */
const WATCH_INACTIVITY_MS = 6000;
/** A worker busy longer than this is stuck: the operator's own bound (5 request timeouts). */
const STUCK_WORKER_MS = 5 * REQUEST_TIMEOUT_MS;

/** Everything a chaos run observed. */
export interface ChaosReport {
  /** The run's settings (seed included). */
  options: ChaosOptions;
  /** Workload actions by name. */
  actions: ReadonlyMap<string, number>;
  /** Faults injected by name. */
  faults: ReadonlyMap<string, number>;
  /** Every operator process. */
  processes: readonly ReplicaRecord[];
  /** What their logs say. */
  logs: readonly LogSummary[];
  /** Operator writes seen by the proxies. */
  writes: number;
  /** Time from the end of the faults to rest, or the settle timeout. */
  settleMs: number;
  /** Every invariant with its count. */
  invariants: readonly InvariantResult[];
  /** Total violations. */
  violations: number;
  /** Where the replicas' logs are (removed after a clean run unless kept). */
  logDir: string;
}

/** Runs one chaos run; `progress` receives a line at each phase. */
export async function runChaos(
  options: ChaosOptions,
  progress: (line: string) => void = () => {},
): Promise<ChaosReport> {
  const server = await startDevApiServer({
    historyLimit: CHAOS_HISTORY_LIMIT,
    bookmarkIntervalMs: 2000,
  });
  const dir = await Deno.makeTempDir({ prefix: "kleff-chaos-" });
  await server.writeKubeconfig(`${dir}/server.kubeconfig`);
  const client = await connect({ kubeconfig: `${dir}/server.kubeconfig` });
  const writes: RecordedWrite[] = [];
  const supervisor = new ReplicaSupervisor({
    upstream: server.url,
    kubeconfig: server.kubeconfig,
    dir,
    replicas: options.replicas,
    onWrite: (write) => writes.push(write),
    leaseNamespace: CHAOS_LEASE.namespace,
    leaseTimings: ["3s", "2s", "500ms"],
    flags: [
      "--request-timeout",
      `${REQUEST_TIMEOUT_MS}ms`,
      "--watch-inactivity-timeout",
      `${WATCH_INACTIVITY_MS}ms`,
    ],
  });
  const sampler = new WorkerSampler(supervisor, STUCK_WORKER_MS);
  const sampling = new AbortController();
  let sampled: Promise<void> = Promise.resolve();
  let report: ChaosReport | undefined;
  let monitor: GuardMonitor | undefined;
  try {
    const crd = parse(
      await Deno.readTextFile(new URL("../../deploy/crd.yaml", import.meta.url)),
    ) as CustomResourceDefinition;
    await client.resource<CustomResourceDefinition>(customResourceDefinitions).create(crd);
    for (const istio of CHAOS_ISTIO_CRDS) {
      await client.resource<CustomResourceDefinition>(customResourceDefinitions).create(istio);
    }
    await client.resource<Namespace>(namespaces).create({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: CHAOS_LEASE.namespace },
    });
    const ledger = new Ledger();
    const prng = new Prng(options.seed);
    const workload = new Workload(client, ledger, prng.fork(1), options.tenants);
    const faults = new FaultSchedule(server.faults, prng.fork(2), {
      supervisor,
      client,
      lease: CHAOS_LEASE,
    });
    await workload.prepare();
    monitor = new GuardMonitor(client, GUARD_GAP_BOUND_MS);
    monitor.start();
    await supervisor.start();
    progress(`${options.replicas} replica(s) started; logs in ${dir}`);
    sampled = sampler.run(sampling.signal);

    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), options.durationMs);
    await Promise.all([workload.run(STEP_MS, stop.signal), faults.run(stop.signal)]);
    clearTimeout(timer);
    progress(`workload and faults stopped after ${options.durationMs / 1000} s; settling`);

    for (const hold of ledger.holds.splice(0)) {
      await releaseHold(client, hold.namespace, hold.name);
    }
    const settleStart = Date.now();
    const settleDeadline = AbortSignal.timeout(options.settleTimeoutMs);
    let pending: string[] = ["not checked"];
    while (!settleDeadline.aborted) {
      await supervisor.ensureRunning();
      // At rest means every tenant settled and the cluster as the invariants describe it: a
      // change made in the last seconds of the workload may still be on its way to a watch.
      const state = await readCluster(client);
      pending = [
        ...unsettled(ledger, state),
        ...checkCluster(ledger, state).flatMap((result) => result.violations),
      ];
      const lastWrite = writes.findLast((write) => !isLeaseWrite(write))?.at ?? 0;
      if (pending.length === 0 && Date.now() - lastWrite >= QUIET_MS) break;
      if (pending.length === 0) pending = ["operator still writing"];
      await sleep(500, settleDeadline).catch(() => {});
    }
    const settleMs = Date.now() - settleStart;
    const settled: InvariantResult = {
      name: `settled within ${
        options.settleTimeoutMs / 1000
      } s (every live tenant at rest, the cluster invariants holding, ${
        QUIET_MS / 1000
      } s without writes)`,
      checked: 1,
      violations: pending.slice(0, 15),
    };
    const guarded = await monitor.stop();
    const state = await readCluster(client);
    const cluster = [
      ...checkCluster(ledger, state),
      checkSquatters(ledger, state),
      checkHostClaims(state),
      guarded,
    ];
    sampling.abort();
    await sampled;
    await supervisor.stop();
    const logs = await Promise.all(supervisor.records.map(scanLog));
    const invariants = [
      settled,
      ...cluster,
      checkSingleWriter(writes),
      ...checkProcesses(supervisor.records, logs),
      checkPromptExits(supervisor.records),
      sampler.check(),
    ];
    report = {
      options,
      actions: ledger.actions,
      faults: faults.counts,
      processes: supervisor.records,
      logs,
      writes: writes.length,
      settleMs,
      invariants,
      violations: invariants.reduce((sum, result) => sum + result.violations.length, 0),
      logDir: dir,
    };
    return report;
  } finally {
    await monitor?.stop();
    sampling.abort();
    await sampled;
    await supervisor.stop();
    client.close();
    await server.close();
    if (report && report.violations === 0 && !options.keepLogs) {
      await Deno.remove(dir, { recursive: true });
    }
  }
}
