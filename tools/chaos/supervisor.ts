// The replica supervisor of a chaos run: operator processes in fixed slots,
// each behind its own recording proxy (and, in front of it, a TCP proxy that can
// freeze its connections) and with its stderr in a log file, restarted after an
// exit like a kubelet would, SIGKILLed or SIGTERMed on demand.
import type { Kubeconfig } from "../../dev_apiserver/mod.ts";
import { type RecordedWrite, type RecordingProxy, startRecordingProxy } from "./proxy.ts";
import { operatorCommand } from "../operator_process.ts";
import { CHAOS_RESERVED_NAMESPACES } from "./hostile.ts";
import { type FreezeProxy, startFreezeProxy } from "./freeze_proxy.ts";

/** One operator process, alive or gone. */
export interface ReplicaRecord {
  /** `r<slot>g<generation>`: also its POD_NAME, so the Lease holder names it. */
  id: string;
  /** Slot number (0 .. replicas-1). */
  slot: number;
  /** Process id. */
  pid: number;
  /** Its stderr (JSON log lines). */
  logPath: string;
  /** Start time, ms since the epoch. */
  startedAt: number;
  /** Exit time, once exited. */
  exitedAt?: number;
  /** Exit code and signal, once exited. */
  exit?: { code: number; signal: string | null };
  /**
   * Why the supervisor ended it, if it did: `kill` (SIGKILL fault), `term` (SIGTERM fault) or
   * `stop` (SIGTERM at the end).
   */
  endedBy?: "kill" | "term" | "stop";
  /** When it was sent SIGTERM (ms since the epoch), for the prompt-exit invariant. */
  termAt?: number;
  /** The pause before its slot restarts after a SIGKILL or SIGTERM fault, once it exited. */
  restartPauseMs?: number;
  /** Where it serves /metrics (`127.0.0.1:port`). */
  metricsAddress: string;
  /** Where it serves /healthz and /readyz. */
  healthAddress: string;
}

/** Settings of a {@linkcode ReplicaSupervisor}. */
export interface SupervisorOptions {
  /** The API server URL the proxies forward to. */
  upstream: string;
  /** The server's kubeconfig; each replica gets a copy pointing at its proxy. */
  kubeconfig: Kubeconfig;
  /** Folder for kubeconfigs and logs. */
  dir: string;
  /** Number of slots. */
  replicas: number;
  /** Receives every write request of every replica. */
  onWrite: (write: RecordedWrite) => void;
  /** Pause before restarting a replica that exited on its own (default 1 s). */
  restartDelayMs?: number;
  /** Lease namespace for leader election. */
  leaseNamespace: string;
  /** Lease duration, renew deadline and retry period (e.g. "3s", "2s", "500ms"). */
  leaseTimings: [string, string, string];
  /** More operator flags (e.g. `--request-timeout 2s`). */
  flags?: readonly string[];
}

interface Slot {
  generation: number;
  current?: {
    record: ReplicaRecord;
    child: Deno.ChildProcess;
    proxy: RecordingProxy;
    freezer: FreezeProxy;
  };
  restart?: ReturnType<typeof setTimeout>;
}

/** Runs the replicas; see the module comment. */
export class ReplicaSupervisor {
  readonly #options: SupervisorOptions;
  readonly #slots: Slot[];
  readonly #records: ReplicaRecord[] = [];
  readonly #exits: Promise<void>[] = [];
  #stopping = false;

  /** Prepares the slots; nothing runs until {@linkcode start}. */
  constructor(options: SupervisorOptions) {
    this.#options = options;
    this.#slots = Array.from({ length: options.replicas }, () => ({ generation: 0 }));
  }

  /** Every process started so far, in start order. */
  get records(): readonly ReplicaRecord[] {
    return this.#records;
  }

  /** Starts every slot. */
  async start(): Promise<void> {
    for (let slot = 0; slot < this.#slots.length; slot++) await this.#spawn(slot);
  }

  /** The live replica with `id`, if any. */
  running(id: string): ReplicaRecord | undefined {
    return this.#slots.map((slot) => slot.current?.record).find((record) => record?.id === id);
  }

  /** Ids of the live replicas. */
  runningIds(): string[] {
    return this.#slots.flatMap((slot) => slot.current ? [slot.current.record.id] : []);
  }

  /** SIGKILLs replica `id` and restarts its slot after `pauseMs`; false if it is not running. */
  kill(id: string, pauseMs: number): boolean {
    const slot = this.#slots.findIndex((s) => s.current?.record.id === id);
    const current = this.#slots[slot]?.current;
    if (!current) return false;
    current.record.endedBy = "kill";
    current.record.restartPauseMs = pauseMs;
    try {
      current.child.kill("SIGKILL");
    } catch {
      return false;
    }
    return true;
  }

  /** SIGTERMs replica `id` and restarts its slot after `pauseMs`; false if it is not running. */
  terminate(id: string, pauseMs: number): boolean {
    const slot = this.#slots.findIndex((s) => s.current?.record.id === id);
    const current = this.#slots[slot]?.current;
    if (!current) return false;
    current.record.endedBy = "term";
    current.record.termAt = Date.now();
    current.record.restartPauseMs = pauseMs;
    try {
      current.child.kill("SIGTERM");
    } catch {
      return false;
    }
    return true;
  }

  /** Freezes every open connection of replica `id` (bytes stop, nothing closes); returns how many. */
  freeze(id: string): number {
    return this.#slots.find((s) => s.current?.record.id === id)?.current?.freezer.freezeOpen() ?? 0;
  }

  /** Trickles replica `id`'s answers for `forMs`; false if it is not running. */
  trickle(id: string, bytesPerSecond: number, forMs: number): boolean {
    const proxy = this.#slots.find((s) => s.current?.record.id === id)?.current?.proxy;
    if (!proxy) return false;
    proxy.trickle(bytesPerSecond);
    setTimeout(() => proxy.trickle(undefined), forMs);
    return true;
  }

  /** Starts at once every slot that is waiting for a restart. */
  async ensureRunning(): Promise<void> {
    for (let slot = 0; slot < this.#slots.length; slot++) {
      const state = this.#slots[slot];
      if (state.current) continue;
      clearTimeout(state.restart);
      state.restart = undefined;
      await this.#spawn(slot);
    }
  }

  /** SIGTERMs every replica (no more restarts) and waits for all of them to exit. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const slot of this.#slots) {
      clearTimeout(slot.restart);
      if (!slot.current) continue;
      slot.current.record.endedBy ??= "stop";
      slot.current.record.termAt ??= Date.now();
      try {
        slot.current.child.kill("SIGTERM");
      } catch {
        // Already gone: its exit is being recorded.
      }
    }
    await Promise.all(this.#exits);
  }

  #scheduleRestart(slot: number, delayMs: number): void {
    const state = this.#slots[slot];
    clearTimeout(state.restart);
    state.restart = setTimeout(() => {
      state.restart = undefined;
      if (!this.#stopping && !state.current) this.#spawn(slot);
    }, delayMs);
  }

  async #spawn(slot: number): Promise<void> {
    const state = this.#slots[slot];
    const id = `r${slot}g${state.generation++}`;
    const proxy = startRecordingProxy(this.#options.upstream, id, this.#options.onWrite);
    const freezer = startFreezeProxy(new URL(proxy.url).host);
    const kubeconfig = structuredClone(this.#options.kubeconfig);
    for (const cluster of kubeconfig.clusters) cluster.cluster.server = `http://${freezer.address}`;
    const kubeconfigPath = `${this.#options.dir}/${id}.kubeconfig`;
    const logPath = `${this.#options.dir}/${id}.log`;
    await Deno.writeTextFile(kubeconfigPath, JSON.stringify(kubeconfig));
    const metricsAddress = `127.0.0.1:${freePort()}`;
    const healthAddress = `127.0.0.1:${freePort()}`;
    const command = operatorCommand([
      ...this.#flags(kubeconfigPath),
      "--metrics-secure=false",
      "--metrics-bind-address",
      metricsAddress,
      "--health-probe-bind-address",
      healthAddress,
    ]);
    const child = new Deno.Command(Deno.execPath(), {
      args: command.args,
      env: { ...command.env, POD_NAME: id, NO_COLOR: "1" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const record: ReplicaRecord = {
      id,
      slot,
      pid: child.pid,
      logPath,
      startedAt: Date.now(),
      metricsAddress,
      healthAddress,
    };
    this.#records.push(record);
    state.current = { record, child, proxy, freezer };
    const file = await Deno.open(logPath, { write: true, create: true, truncate: true });
    const logged = child.stderr.pipeTo(file.writable).catch(() => {});
    this.#exits.push((async () => {
      const status = await child.status;
      await logged;
      record.exitedAt = Date.now();
      record.exit = { code: status.code, signal: status.signal };
      await freezer.close();
      await proxy.close();
      if (state.current?.record === record) state.current = undefined;
      // The slot restarts once the process is gone (a restart timer set at the kill could fire
      // while it still runs, and then start nothing).
      if (!this.#stopping && record.endedBy !== "stop") {
        this.#scheduleRestart(
          slot,
          record.restartPauseMs ?? this.#options.restartDelayMs ?? 1000,
        );
      }
    })());
  }

  #flags(kubeconfigPath: string): string[] {
    const [lease, renew, retry] = this.#options.leaseTimings;
    return [
      "--kubeconfig",
      kubeconfigPath,
      "--concurrency",
      "4",
      "--log-format",
      "json",
      "--log-level",
      "info",
      "--leader-elect",
      "--leader-elect-lease-duration",
      lease,
      "--leader-elect-renew-deadline",
      renew,
      "--leader-elect-retry-period",
      retry,
      "--leader-elect-resource-namespace",
      this.#options.leaseNamespace,
      "--reserved-namespaces",
      CHAOS_RESERVED_NAMESPACES.join(","),
      ...this.#options.flags ?? [],
    ];
  }
}

/** A TCP port free right now on 127.0.0.1. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
