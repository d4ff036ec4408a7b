import assert from "node:assert/strict";
import type { Lease } from "kubernetes-types/coordination/v1.d.ts";
import {
  LeaderElectionConfigError,
  LeaderElector,
  type LeaseApi,
} from "../../lib/leader/election.ts";
import { Registry } from "../../lib/metrics/registry.ts";

/** An in-memory Lease store with optimistic concurrency, and a switch to make it fail. */
class FakeLeases implements LeaseApi {
  lease?: Lease;
  version = 0;
  down = false;
  writes = 0;

  #check(): void {
    if (this.down) throw Object.assign(new Error("unavailable"), { code: 503 });
  }

  get(): Promise<Lease> {
    this.#check();
    if (!this.lease) return Promise.reject(Object.assign(new Error("nf"), { code: 404 }));
    return Promise.resolve(structuredClone(this.lease));
  }

  create(lease: Lease): Promise<Lease> {
    this.#check();
    if (this.lease) return Promise.reject(Object.assign(new Error("exists"), { code: 409 }));
    return Promise.resolve(this.#store(lease));
  }

  replace(lease: Lease): Promise<Lease> {
    this.#check();
    if (lease.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) {
      return Promise.reject(Object.assign(new Error("conflict"), { code: 409 }));
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

const FAST = { leaseDurationMs: 400, renewDeadlineMs: 250, retryPeriodMs: 50 };

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await sleep(5);
  }
}

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
  await until(() => a.leading);
  const b = candidate(api, "b");
  await sleep(200);
  assert.equal(b.leading, false);
  assert.equal(api.lease?.spec?.holderIdentity, "a");
  assert.match(registry.expose(), /leader_election_master_status\{name="kleff"\} 1/);
  const before = Date.now();
  a.stop.abort();
  assert.equal(await a.result, "stopped");
  assert.match(registry.expose(), /leader_election_master_status\{name="kleff"\} 0/);
  await until(() => b.leading);
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
  await until(() => aLeading);
  const b = candidate(api, "b");
  await sleep(100);
  stopA.abort();
  await aRun;
  const died = Date.now();
  assert.equal(api.lease?.spec?.holderIdentity, "a", "no release: the lease still names a");
  await until(() => b.leading);
  const waited = Date.now() - died;
  assert.ok(waited >= FAST.leaseDurationMs - 150, `took over after ${waited} ms`);
  b.stop.abort();
  await b.result;
});

Deno.test("a leader that cannot renew stops leading at once after the renew deadline", async () => {
  const api = new FakeLeases();
  const a = candidate(api, "a");
  await until(() => a.leading);
  api.down = true;
  await until(() => a.leadingSignal?.aborted === true, 2000);
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
