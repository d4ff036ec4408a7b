// Lease-based leader election against an in-memory Lease store: one leader, handover, expiry and
// renewal failures.
import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import type { Lease } from "kubernetes-types/coordination/v1.d.ts";
import {
  LeaderElectionConfigError,
  LeaderElector,
  type LeaseApi,
} from "../../../lib/leader/election.ts";
import { apiErrorFromStatus } from "../../../lib/client/errors.ts";
import { Registry } from "../../../lib/metrics/registry.ts";
import { eventually, type EventuallyOptions } from "../../support/wait.ts";

/** An in-memory Lease store with optimistic concurrency, and a switch to make it fail. */
class FakeLeases implements LeaseApi {
  lease?: Lease;
  version = 0;
  down = false;
  writes = 0;

  #check(): void {
    if (this.down) {
      throw apiErrorFromStatus({ code: 503, reason: "ServiceUnavailable", message: "unavailable" });
    }
  }

  get(): Promise<Lease> {
    this.#check();
    if (!this.lease) {
      return Promise.reject(apiErrorFromStatus({ code: 404, reason: "NotFound", message: "nf" }));
    }
    return Promise.resolve(structuredClone(this.lease));
  }

  create(lease: Lease): Promise<Lease> {
    this.#check();
    if (this.lease) {
      return Promise.reject(
        apiErrorFromStatus({ code: 409, reason: "AlreadyExists", message: "exists" }),
      );
    }
    return Promise.resolve(this.#store(lease));
  }

  replace(lease: Lease): Promise<Lease> {
    this.#check();
    if (lease.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) {
      return Promise.reject(
        apiErrorFromStatus({ code: 409, reason: "Conflict", message: "conflict" }),
      );
    }
    return Promise.resolve(this.#store(lease));
  }

  #store(lease: Lease): Lease {
    this.writes++;
    this.lease = structuredClone(lease);
    this.lease.metadata = { ...lease.metadata, resourceVersion: String(++this.version) };
    return structuredClone(this.lease);
  }
}

/** `api` as one candidate sees it, counting the reads of the Lease that candidate makes. */
function counted(api: LeaseApi): LeaseApi & { reads: number } {
  const view = {
    reads: 0,
    get: (name: string, options: { namespace: string; signal?: AbortSignal }) => {
      view.reads++;
      return api.get(name, options);
    },
    create: (lease: Lease, options: { namespace: string; signal?: AbortSignal }) =>
      api.create(lease, options),
    replace: (lease: Lease, options: { namespace: string; signal?: AbortSignal }) =>
      api.replace(lease, options),
  };
  return view;
}

const FAST = { leaseDurationMs: 400, renewDeadlineMs: 250, retryPeriodMs: 50 };

/** Polling of these tests: often, since the lease timings are short. */
const POLL: EventuallyOptions = { timeoutMs: 3000, intervalMs: 5 };

function candidate(api: LeaseApi, identity: string, extra: { metrics?: Registry } = {}) {
  const elector = new LeaderElector(api, {
    namespace: "ops",
    name: "kleff",
    identity,
    ...FAST,
    ...extra,
  });
  const stop = new AbortController();
  let leading = false;
  let leadingSignal: AbortSignal | undefined;
  const result = elector.run(async (signal) => {
    leading = true;
    leadingSignal = signal;
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    leading = false;
  }, stop.signal);
  return {
    elector,
    stop,
    result,
    get leading() {
      return leading;
    },
    get leadingSignal() {
      return leadingSignal;
    },
  };
}

Deno.test("exactly one of two candidates leads; release hands over at once", async () => {
  const api = new FakeLeases();
  const registry = new Registry();
  const a = candidate(api, "a", { metrics: registry });
  await eventually("a leading", () => a.leading, POLL);
  const bApi = counted(api);
  const b = candidate(bApi, "b");
  await eventually("b to try three times", () => bApi.reads >= 3, POLL);
  assert.equal(b.leading, false);
  assert.equal(api.lease?.spec?.holderIdentity, "a");
  assert.match(registry.expose(), /leader_election_master_status\{name="kleff"\} 1/);
  const before = Date.now();
  a.stop.abort();
  assert.equal(await a.result, "stopped");
  assert.match(registry.expose(), /leader_election_master_status\{name="kleff"\} 0/);
  await eventually("b leading", () => b.leading, POLL);
  assert.ok(Date.now() - before < FAST.leaseDurationMs, "released lease is taken without waiting");
  assert.equal(api.lease?.spec?.holderIdentity, "b");
  assert.equal(api.lease?.spec?.leaseTransitions, 1);
  b.stop.abort();
  await b.result;
  assert.equal(api.lease?.spec?.holderIdentity, "");
});

Deno.test("a dead leader is replaced only after the lease duration", async () => {
  const api = new FakeLeases();
  const a = new LeaderElector(api, {
    namespace: "ops",
    name: "kleff",
    identity: "a",
    ...FAST,
    releaseOnCancel: false,
  });
  const stopA = new AbortController();
  let aLeading = false;
  const aRun = a.run(async (signal) => {
    aLeading = true;
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
  }, stopA.signal);
  await eventually("a leading", () => aLeading, POLL);
  const bApi = counted(api);
  const b = candidate(bApi, "b");
  await eventually("b to see a's lease", () => bApi.reads >= 2, POLL);
  stopA.abort();
  await aRun;
  const died = Date.now();
  assert.equal(api.lease?.spec?.holderIdentity, "a", "no release: the lease still names a");
  await eventually("b leading", () => b.leading, POLL);
  const waited = Date.now() - died;
  assert.ok(waited >= FAST.leaseDurationMs - 150, `took over after ${waited} ms`);
  b.stop.abort();
  await b.result;
});

Deno.test("a leader that cannot renew stops leading at once after the renew deadline", async () => {
  const api = new FakeLeases();
  const a = candidate(api, "a");
  await eventually("a leading", () => a.leading, POLL);
  api.down = true;
  await eventually("a to stop leading", () => a.leadingSignal?.aborted === true, {
    ...POLL,
    timeoutMs: 2000,
  });
  assert.equal(await a.result, "lost");
  assert.equal(a.elector.isLeader, false);
});

Deno.test("impossible timings are refused", () => {
  const api = new FakeLeases();
  const base = { namespace: "n", name: "l", identity: "me" };
  assert.throws(
    () => new LeaderElector(api, { ...base, leaseDurationMs: 10, renewDeadlineMs: 10 }),
    LeaderElectionConfigError,
  );
  assert.throws(
    () => new LeaderElector(api, { ...base, renewDeadlineMs: 2000, retryPeriodMs: 2000 }),
    LeaderElectionConfigError,
  );
  assert.throws(() => new LeaderElector(api, { ...base, identity: "" }), /identity/);
});

Deno.test("a lease held by another is valid for the duration it records, not this replica's", async () => {
  const api = new FakeLeases();
  api.lease = {
    metadata: { name: "kleff", namespace: "ops", resourceVersion: "1" },
    spec: { holderIdentity: "other", leaseDurationSeconds: 1, leaseTransitions: 3 },
  };
  let clock = 0;
  let reads = 0;
  const get = api.get.bind(api);
  api.get = () => {
    reads++;
    return get();
  };
  const elector = new LeaderElector(api, {
    namespace: "ops",
    name: "kleff",
    identity: "me",
    leaseDurationMs: 60_000,
    renewDeadlineMs: 1_000,
    retryPeriodMs: 20,
    now: () => clock,
  });
  const stop = new AbortController();
  let leading = false;
  const result = elector.run(async (signal) => {
    leading = true;
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
  }, stop.signal);
  await eventually("two reads of the lease", () => reads >= 2, POLL);
  clock = 900;
  const seen = reads;
  await eventually("two more reads", () => reads >= seen + 2, POLL);
  assert.equal(leading, false, "within the recorded second the holder keeps it");
  clock = 1_100;
  await eventually("me leading", () => leading, POLL);
  assert.equal(api.lease?.spec?.holderIdentity, "me");
  assert.equal(api.lease?.spec?.leaseTransitions, 4);
  stop.abort();
  assert.equal(await result, "stopped");
});

Deno.test("a stop arriving while the lease is being won releases it and never starts the work", async () => {
  const api = new FakeLeases();
  const stop = new AbortController();
  const create = api.create.bind(api);
  api.create = async (lease) => {
    const created = await create(lease);
    stop.abort();
    return created;
  };
  const elector = new LeaderElector(api, {
    namespace: "ops",
    name: "kleff",
    identity: "a",
    ...FAST,
  });
  let worked = false;
  const result = await elector.run(() => {
    worked = true;
    return Promise.resolve();
  }, stop.signal);
  assert.equal(result, "stopped");
  assert.equal(worked, false);
  assert.equal(api.lease?.spec?.holderIdentity, "", "the won lease was handed back");
  assert.equal(elector.isLeader, false);
});

Deno.test("failed lease writes are logged as warnings, but 409 contention is not", async () => {
  const records: LogRecord[] = [];
  await configure({
    sinks: { memory: (record: LogRecord) => void records.push(record) },
    loggers: [
      { category: ["kleff", "leader"], lowestLevel: "warning", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  try {
    const api = new FakeLeases();
    let creates = 0;
    let failWith = 409;
    api.create = () => {
      creates++;
      return Promise.reject(
        apiErrorFromStatus({ code: failWith, message: `create failed ${failWith}` }),
      );
    };
    const stop = new AbortController();
    const elector = new LeaderElector(api, {
      namespace: "ops",
      name: "kleff",
      identity: "a",
      ...FAST,
    });
    const result = elector.run(() => Promise.resolve(), stop.signal);
    await eventually("two create attempts", () => creates >= 2, POLL);
    assert.equal(records.length, 0, "409 is normal contention");
    failWith = 500;
    await eventually("a warning", () => records.length > 0, POLL);
    assert.equal(records[0].level, "warning");
    assert.match(JSON.stringify(records[0].properties), /create failed 500/);
    stop.abort();
    await result;
  } finally {
    await reset();
  }
});

Deno.test("a renewal stored but cut off by the stop still ends in a released lease", async () => {
  const api = new FakeLeases();
  let lose = false;
  const lossy: LeaseApi = {
    get: () => api.get(),
    create: (lease) => api.create(lease),
    // The server stores the renewal, but its answer never reaches the candidate.
    replace: async (lease) => {
      const stored = await api.replace(lease);
      if (!lose) return stored;
      lose = false;
      throw new DOMException("the stop aborted the renewal", "AbortError");
    },
  };
  const a = candidate(lossy, "a");
  await eventually("a leading", () => a.leading, POLL);
  const renewals = api.writes;
  lose = true;
  await eventually("a renewal stored, its answer lost", () => !lose && api.writes > renewals, POLL);
  a.stop.abort();
  assert.equal(await a.result, "stopped");
  assert.equal(api.lease?.spec?.holderIdentity, "", "released despite the stale resourceVersion");
});
