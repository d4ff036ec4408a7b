// Lease-based leader election with client-go's semantics, so that of several
// operator replicas exactly one reconciles, a dead leader is replaced within
// the lease duration, and a clean shutdown hands over at once.
import type { Lease } from "kubernetes-types/coordination/v1.d.ts";
import { sleep } from "../backoff.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../client/mod.ts";
import { log } from "../log.ts";
import { Gauge, Registry } from "../metrics/mod.ts";

/** The Lease calls leader election needs (a `ResourceClient<Lease>` fits). */
export interface LeaseApi {
  /** Reads the Lease; rejects with a `NotFoundError` when it does not exist. */
  get(name: string, options: { namespace: string; signal?: AbortSignal }): Promise<Lease>;
  /** Creates the Lease; 409 when someone else created it first. */
  create(lease: Lease, options: { namespace: string; signal?: AbortSignal }): Promise<Lease>;
  /** Replaces the Lease; 409 when its resourceVersion is stale. */
  replace(lease: Lease, options: { namespace: string; signal?: AbortSignal }): Promise<Lease>;
}

/** Timing and identity of a {@linkcode LeaderElector} (client-go's names and defaults). */
export interface LeaderElectionOptions {
  /** Namespace of the Lease. */
  namespace: string;
  /** Name of the Lease. */
  name: string;
  /** This candidate's identity (unique per replica, e.g. pod name + random suffix). */
  identity: string;
  /** How long a non-leader waits after the last observed renewal before taking over (default 15 s). */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before giving up leadership (default 10 s). */
  renewDeadlineMs?: number;
  /** Interval between acquire/renew attempts (default 2 s). */
  retryPeriodMs?: number;
  /** Clear the holder on shutdown so a successor need not wait (default true). */
  releaseOnCancel?: boolean;
  /** Longest wait for that release, within the shutdown budget (default 1 s). */
  releaseTimeoutMs?: number;
  /** Registry receiving `leader_election_master_status{name}`. */
  metrics?: Registry;
  /** Clock, for tests. */
  now?: () => number;
}

/** Thrown by {@linkcode LeaderElector} when its options cannot work. */
export class LeaderElectionConfigError extends Error {
  /** Builds the error with a message naming the setting. */
  constructor(message: string) {
    super(message);
    this.name = "LeaderElectionConfigError";
  }
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/**
 * One candidate in a Lease election. {@linkcode run} acquires the Lease,
 * runs the leader's work with a signal that aborts the moment leadership is
 * lost, and releases the Lease when the work ends.
 */
export class LeaderElector {
  readonly #api: LeaseApi;
  readonly #options: Required<Omit<LeaderElectionOptions, "metrics">>;
  readonly #status: Gauge;
  #observed?: Lease;
  #observedAt = 0;
  #leader = false;

  /** Validates the timing (lease > renew deadline > retry period, as client-go demands). */
  constructor(api: LeaseApi, options: LeaderElectionOptions) {
    this.#api = api;
    this.#options = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      releaseOnCancel: true,
      releaseTimeoutMs: 1000,
      now: Date.now,
      ...options,
    };
    const { leaseDurationMs, renewDeadlineMs, retryPeriodMs, identity } = this.#options;
    if (!(leaseDurationMs > renewDeadlineMs)) {
      throw new LeaderElectionConfigError(
        "leader election: lease duration must be greater than the renew deadline",
      );
    }
    if (!(renewDeadlineMs > retryPeriodMs * 1.2)) {
      throw new LeaderElectionConfigError(
        "leader election: renew deadline must be greater than 1.2 × retry period",
      );
    }
    if (!(retryPeriodMs > 0)) {
      throw new LeaderElectionConfigError("leader election: retry period must be positive");
    }
    if (!identity) throw new LeaderElectionConfigError("leader election: identity is empty");
    this.#status = (options.metrics ?? new Registry()).register(
      new Gauge(
        "leader_election_master_status",
        "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.",
      ),
    );
    this.#status.set({ name: this.#options.name }, 0);
  }

  /** Whether this candidate holds the Lease right now. */
  get isLeader(): boolean {
    return this.#leader;
  }

  /**
   * Campaigns until `signal` aborts. Each time the Lease is won, `work` runs
   * with a signal aborted when leadership is lost or `signal` aborts; `run`
   * returns after `work` has finished and the Lease is released. Returns
   * `"lost"` if leadership was lost (callers usually exit, as
   * controller-runtime does), `"stopped"` otherwise.
   */
  async run(
    work: (leading: AbortSignal) => Promise<void>,
    signal: AbortSignal,
  ): Promise<"lost" | "stopped"> {
    const { retryPeriodMs, identity, name, namespace } = this.#options;
    let acquired = false;
    while (!signal.aborted && !acquired) {
      acquired = await this.#tryAcquireOrRenew(signal);
      if (!acquired) await sleep(retryPeriodMs * (1 + Math.random() * 0.2), signal).catch(() => {});
    }
    if (signal.aborted) {
      // Stopped while (or right after) winning: hand the Lease back instead of holding it.
      if (acquired && this.#options.releaseOnCancel) await this.#release();
      return "stopped";
    }
    this.#setLeader(true);
    log("leader").info("became leader of lease {namespace}/{name} as {identity}", {
      namespace,
      name,
      identity,
    });
    const leading = new AbortController();
    const stop = () => leading.abort(signal.reason);
    signal.addEventListener("abort", stop, { once: true });
    const working = work(leading.signal).finally(() => leading.abort());
    // A renewal that failed while a stop was asked for is a stop: the process is going anyway.
    const lost = (await this.#renewLoop(leading.signal)) && !signal.aborted;
    if (lost) {
      log("leader").error("lost leadership of lease {namespace}/{name}", { namespace, name });
      leading.abort(new Error("leadership lost"));
    }
    signal.removeEventListener("abort", stop);
    try {
      await working;
    } finally {
      this.#setLeader(false);
      if (!lost && this.#options.releaseOnCancel) await this.#release();
    }
    return lost ? "lost" : "stopped";
  }

  #setLeader(leader: boolean): void {
    this.#leader = leader;
    this.#status.set({ name: this.#options.name }, leader ? 1 : 0);
  }

  /** Renews every retry period; resolves true when the renew deadline passed without success. */
  async #renewLoop(leading: AbortSignal): Promise<boolean> {
    const { retryPeriodMs, renewDeadlineMs, now } = this.#options;
    let lastRenew = now();
    while (!leading.aborted) {
      await sleep(retryPeriodMs, leading).catch(() => {});
      if (leading.aborted) return false;
      const attempt = AbortSignal.any([
        leading,
        AbortSignal.timeout(Math.max(1, lastRenew + renewDeadlineMs - now())),
      ]);
      if (await this.#tryAcquireOrRenew(attempt)) {
        lastRenew = now();
      } else if (now() - lastRenew >= renewDeadlineMs) {
        return !leading.aborted;
      }
    }
    return false;
  }

  /** One client-go tryAcquireOrRenew: true when this candidate holds the Lease afterwards. */
  async #tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { namespace, name, identity, leaseDurationMs, now } = this.#options;
    const time = now();
    let current: Lease | undefined;
    try {
      current = await this.#api.get(name, { namespace, signal });
    } catch (error) {
      if (!isNotFound(error)) {
        log("leader").warn("cannot read lease {namespace}/{name}: {error}", {
          namespace,
          name,
          error: String(error),
        });
        return false;
      }
    }
    if (!current) {
      try {
        this.#observe(
          await this.#api.create({
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
              acquireTime: microTime(time),
              renewTime: microTime(time),
              leaseTransitions: 0,
            },
          }, { namespace, signal }),
          time,
        );
        return true;
      } catch (error) {
        this.#warnUnlessContention("create", error);
        return false;
      }
    }
    if (JSON.stringify(current.spec) !== JSON.stringify(this.#observed?.spec)) {
      this.#observe(current, time);
    }
    const holder = current.spec?.holderIdentity ?? "";
    const heldByOther = holder !== "" && holder !== identity;
    // As client-go: the holder's claim lasts the duration it wrote, not this replica's setting.
    const recordedSeconds = current.spec?.leaseDurationSeconds;
    const heldForMs = recordedSeconds && recordedSeconds > 0
      ? recordedSeconds * 1000
      : leaseDurationMs;
    if (heldByOther && this.#observedAt + heldForMs > time) return false;
    const spec = current.spec ?? {};
    const transitions = spec.leaseTransitions ?? 0;
    try {
      const updated = await this.#api.replace({
        ...current,
        spec: {
          ...spec,
          holderIdentity: identity,
          leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
          acquireTime: holder === identity ? spec.acquireTime ?? microTime(time) : microTime(time),
          renewTime: microTime(time),
          leaseTransitions: holder === identity ? transitions : transitions + 1,
        },
      }, { namespace, signal });
      this.#observe(updated, time);
      return true;
    } catch (error) {
      this.#warnUnlessContention(holder === identity ? "renew" : "take over", error);
      return false;
    }
  }

  /** Logs a failed write of the Lease; a 409 is normal contention between candidates and stays quiet. */
  #warnUnlessContention(action: string, error: unknown): void {
    if (isConflict(error) || isAlreadyExists(error)) return;
    const { namespace, name } = this.#options;
    log("leader").warn("cannot {action} lease {namespace}/{name}: {error}", {
      action,
      namespace,
      name,
      error: String(error),
    });
  }

  /** `lease` with no holder and a one-second duration, as client-go releases it. */
  #released(lease: Lease): Lease {
    const time = microTime(this.#options.now());
    return {
      ...lease,
      spec: {
        ...lease.spec,
        holderIdentity: "",
        leaseDurationSeconds: 1,
        acquireTime: time,
        renewTime: time,
      },
    };
  }

  #observe(lease: Lease, time: number): void {
    this.#observed = lease;
    this.#observedAt = time;
  }

  /**
   * Clears the holder so a successor takes over without waiting out the lease. A renewal cut short
   * by the stop may have been stored all the same, leaving the observed resourceVersion stale: on
   * a 409 the Lease is read again and released if this candidate still holds it.
   */
  async #release(): Promise<void> {
    const { namespace, name, identity } = this.#options;
    const observed = this.#observed;
    if (!observed || observed.spec?.holderIdentity !== identity) return;
    const signal = AbortSignal.timeout(this.#options.releaseTimeoutMs);
    try {
      try {
        await this.#api.replace(this.#released(observed), { namespace, signal });
      } catch (error) {
        if (!isConflict(error)) throw error;
        const current = await this.#api.get(name, { namespace, signal });
        if (current.spec?.holderIdentity !== identity) return;
        await this.#api.replace(this.#released(current), { namespace, signal });
      }
      log("leader").info("released lease {namespace}/{name}", { namespace, name });
    } catch (error) {
      log("leader").warn("could not release lease {namespace}/{name}: {error}", {
        namespace,
        name,
        error: String(error),
      });
    }
  }
}
