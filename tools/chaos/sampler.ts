// Samples every live replica's /metrics and /healthz once a second during a chaos run, for the
// stuck-worker invariant: no reconcile in flight longer than the bound (the oldest in-flight
// reconcile's age, `workqueue_longest_running_processor_seconds`) and /healthz never failing.
import { sleep } from "../../lib/backoff.ts";
import type { InvariantResult } from "./invariants.ts";
import type { ReplicaRecord, ReplicaSupervisor } from "./supervisor.ts";

const LONGEST = /^workqueue_longest_running_processor_seconds\{name="tenant"\} (\S+)$/m;

/** Polls the replicas; see the module comment. */
export class WorkerSampler {
  readonly #supervisor: ReplicaSupervisor;
  readonly #boundMs: number;
  #samples = 0;
  #worstMs = 0;
  #worstReplica = "";
  readonly #violations: string[] = [];

  /** A sampler of `supervisor`'s replicas against a stuck-worker bound of `boundMs`. */
  constructor(supervisor: ReplicaSupervisor, boundMs: number) {
    this.#supervisor = supervisor;
    this.#boundMs = boundMs;
  }

  /** Samples once a second until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await Promise.all(
        this.#supervisor.runningIds().map((id) => this.#sample(this.#supervisor.running(id))),
      );
      await sleep(1000, signal).catch(() => {});
    }
  }

  async #sample(record: ReplicaRecord | undefined): Promise<void> {
    if (!record) return;
    try {
      const [metrics, health] = await Promise.all([
        fetch(`http://${record.metricsAddress}/metrics`, { signal: AbortSignal.timeout(1000) })
          .then((response) => response.text()),
        fetch(`http://${record.healthAddress}/healthz`, { signal: AbortSignal.timeout(1000) }),
      ]);
      const healthText = await health.text();
      this.#samples++;
      const longestMs = Number(LONGEST.exec(metrics)?.[1] ?? 0) * 1000;
      if (longestMs > this.#worstMs) {
        this.#worstMs = longestMs;
        this.#worstReplica = record.id;
      }
      if (longestMs > this.#boundMs) {
        this.#violations.push(
          `${record.id}: a reconcile in flight for ${Math.round(longestMs)} ms`,
        );
      }
      if (!health.ok) {
        this.#violations.push(`${record.id}: /healthz ${health.status} ${healthText}`);
      }
    } catch {
      // The replica is exiting or was killed: nothing to sample.
    }
  }

  /** The invariant: no sample above the bound, /healthz always 200. */
  check(): InvariantResult {
    return {
      name: `no worker busy longer than ${this.#boundMs / 1000} s and /healthz always ok (worst ${
        Math.round(this.#worstMs)
      } ms${this.#worstReplica ? ` on ${this.#worstReplica}` : ""})`,
      checked: this.#samples,
      violations: this.#violations.slice(0, 15),
    };
  }
}
