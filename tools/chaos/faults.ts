// The chaos fault schedule: every second or two, one seeded fault through the
// dev API server's injector (dropped watches, compaction, 500/429 bursts,
// latency, 409s on patches, oversize or undecodable watch events), the
// leader's connections frozen or its answers trickled, or a SIGKILL or SIGTERM
// of a replica, restarted after a pause.
import type { Lease } from "kubernetes-types/coordination/v1.d.ts";
import type { Faults } from "../../dev_apiserver/mod.ts";
import { sleep } from "../../lib/backoff.ts";
import { type KubeClient, leases } from "../../lib/client/mod.ts";
import { retrying } from "./ledger.ts";
import type { Prng } from "./prng.ts";
import type { ReplicaSupervisor } from "./supervisor.ts";

/** Where the operator's Lease lives. */
export interface LeaseRef {
  /** Namespace. */
  namespace: string;
  /** Name. */
  name: string;
}

type Fault =
  | "drop"
  | "compact"
  | "burst500"
  | "burst429"
  | "latency"
  | "conflict409"
  | "killLeader"
  | "freeze"
  | "trickle"
  | "oversize"
  | "undecodable"
  | "sigterm";

/** Watched kinds whose events the corruption faults hit. */
const CORRUPTED_RESOURCES: readonly string[] = [
  "tenants",
  "namespaces",
  "resourcequotas",
  "limitranges",
  "networkpolicies",
];

const BURST_RESOURCES: readonly (string | undefined)[] = [
  undefined,
  "namespaces",
  "tenants",
  "tenants/status",
  "resourcequotas",
  "events",
];

/** Injects faults on a seeded schedule; counts what it injected. */
export class FaultSchedule {
  readonly #faults: Faults;
  readonly #prng: Prng;
  readonly #supervisor: ReplicaSupervisor;
  readonly #client: KubeClient;
  readonly #lease: LeaseRef;
  /** How often each fault was injected (`killLeader` only when a leader was found). */
  readonly counts: Map<string, number> = new Map();
  #latencyTimer?: ReturnType<typeof setTimeout>;

  /** A schedule over the server's injector and the replicas. */
  constructor(
    faults: Faults,
    prng: Prng,
    options: { supervisor: ReplicaSupervisor; client: KubeClient; lease: LeaseRef },
  ) {
    this.#faults = faults;
    this.#prng = prng;
    this.#supervisor = options.supervisor;
    this.#client = options.client;
    this.#lease = options.lease;
  }

  /** Injects one fault every 0.8–2.5 s until `signal` aborts, then clears every rule. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(this.#prng.between(800, 2500), signal).catch(() => {});
      if (signal.aborted) break;
      await this.inject();
    }
    this.clear();
  }

  /** Removes every rule and latency. */
  clear(): void {
    clearTimeout(this.#latencyTimer);
    this.#faults.clear();
  }

  /** Injects one fault chosen by the seed. */
  async inject(): Promise<void> {
    const fault = this.#prng.weighted<Fault>({
      drop: 2,
      compact: 1.5,
      burst500: 1.5,
      burst429: 1.5,
      latency: 1,
      conflict409: 1.5,
      killLeader: 1,
      freeze: 1.5,
      trickle: 1,
      oversize: 1,
      undecodable: 1,
      sigterm: 1,
    });
    const resource = this.#prng.pick(BURST_RESOURCES);
    const count = this.#prng.between(3, 25);
    switch (fault) {
      case "drop":
        this.#faults.dropWatches();
        break;
      case "compact":
        this.#faults.compact();
        break;
      case "burst500":
        this.#faults.failNext({ status: 500, count, resource, message: "chaos: injected 500" });
        break;
      case "burst429":
        this.#faults.failNext({
          status: 429,
          count,
          resource,
          retryAfterSeconds: this.#prng.between(1, 2),
          message: "chaos: too many requests",
        });
        break;
      case "latency": {
        const ms = this.#prng.between(20, 300);
        const forMs = this.#prng.between(500, 3000);
        this.#faults.setLatency(ms);
        clearTimeout(this.#latencyTimer);
        this.#latencyTimer = setTimeout(() => this.#faults.setLatency(0), forMs);
        break;
      }
      case "conflict409":
        this.#faults.failNext({
          status: 409,
          count,
          verb: "patch",
          resource,
          message: "chaos: the object has been modified; please apply your changes again",
        });
        break;
      case "killLeader": {
        const pauseMs = this.#prng.between(500, 3000);
        const leader = await this.leader();
        if (!leader || !this.#supervisor.kill(leader, pauseMs)) return;
        break;
      }
      case "freeze": {
        const leader = await this.leader();
        if (!leader || this.#supervisor.freeze(leader) === 0) return;
        break;
      }
      case "trickle": {
        const leader = await this.leader();
        const bytesPerSecond = this.#prng.between(200, 5000);
        if (
          !leader ||
          !this.#supervisor.trickle(leader, bytesPerSecond, this.#prng.between(500, 3000))
        ) {
          return;
        }
        break;
      }
      case "oversize":
      case "undecodable":
        this.#faults.corruptWatchEvents({
          kind: fault,
          resource: this.#prng.pick(CORRUPTED_RESOURCES),
          count: this.#prng.between(1, 2),
        });
        break;
      case "sigterm": {
        const running = this.#supervisor.runningIds();
        if (running.length === 0) return;
        const target = this.#prng.pick(running);
        if (!this.#supervisor.terminate(target, this.#prng.between(300, 2000))) return;
        break;
      }
    }
    this.counts.set(fault, (this.counts.get(fault) ?? 0) + 1);
  }

  /** The id of the replica holding the Lease (the part of holderIdentity before `_`). */
  async leader(): Promise<string | undefined> {
    const running = this.#supervisor.runningIds();
    const lease = await retrying(() =>
      this.#client.resource<Lease>(leases).get(this.#lease.name, {
        namespace: this.#lease.namespace,
      })
    ).catch(() => undefined);
    const holder = lease?.spec?.holderIdentity?.split("_")[0];
    if (holder && running.includes(holder)) return holder;
    return running.length === 1 ? running[0] : undefined;
  }
}
