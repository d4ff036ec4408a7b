// `deno task bench peer`: our operator side by side with a peer built the usual way on
// client-node informers and with the write-only floor, through the same workloads in one run
// against the in-process dev API server (its code warmed up first by an unmeasured pass of every
// contender), with its latency fault and without. Each contender runs
// as its own process (8 workers each), so its requests and RSS are its own. Prints every figure
// of the request-bill comparison as one table: requests per new tenant (pending at start and
// arriving one by one), pending tenants to all Ready (the median of several rounds, the order of
// the contenders rotated from round to round, and the ratio to the floor), restarts and
// periodic resyncs over ready tenants, RSS after a restart versus tenant count, and create →
// Ready latency. `--full` adds the 10,000-tenant restart, resync and RSS figures.
import { parseArgs } from "node:util";
import {
  type BenchEnv,
  type BenchProcess,
  createTenants,
  restart,
  RSS_SETTLE_MS,
  setup,
  waitFirstRequest,
  waitIdle,
  waitQuiet,
} from "./operator_bench.ts";
import {
  type Contender,
  CONTENDER_KEYS,
  type ContenderKey,
  contenders,
  SEED_PLANS_YAML,
} from "./contenders.ts";
import {
  figures,
  type Measured,
  type NewTenants,
  type OneByOne,
  passKey,
  percentile,
  printTable,
  type Restart,
  type Resync,
} from "./peer_figures.ts";
import { ReadyWatch } from "./ready_watch.ts";
import { formatPerTenant, formatTotals, requestCount, tallyRequests } from "./request_tally.ts";
import { sleep } from "../lib/backoff.ts";

/** What `deno task bench peer` is asked to run. */
export interface PeerBenchOptions {
  /** Tenants pending when a contender starts (`--tenants`, default 1,000). */
  tenants: number;
  /** Tenants then created one at a time (`--one-by-one`, default 50). */
  oneByOne: number;
  /** The latency fault of the second pass, in ms (`--latency-ms`, default 5; 0 = one pass). */
  latencyMs: number;
  /**
   * Rounds of the pending-tenants figure at each latency (`--rounds`, default 3): every contender
   * once per round, the order rotated from one round to the next; the median is reported.
   */
  rounds: number;
  /** Workers of every contender (`--concurrency`, default 8). */
  concurrency: number;
  /** Also the large figures (`--full`): restart, resync and RSS over `large` ready tenants. */
  full: boolean;
  /** Ready tenants of the large figures (`--large`, default 10,000). */
  large: number;
  /** The contenders to run (`--only ours,peer`; default all). */
  only?: readonly ContenderKey[];
}

/** Ready tenants of the RSS baseline. */
const SMALL = 100;
/** Time without requests or CPU after which a contender counts as done, in ms. */
const QUIET_MS = 2000;
/** Between tenants created one at a time: time without requests (the follow-up work done), in ms. */
const SETTLE_MS = 50;
/** Longest wait for tenants to become Ready, in ms. */
const READY_TIMEOUT_MS = 600_000;
/** After a resync is due: time for the contender to start it, before waiting for quiet, in ms. */
const RESYNC_GRACE_MS = 3000;

/** Thrown for a bad flag of the section; its message names the flag. */
export class PeerBenchOptionsError extends Error {
  /** Builds the error from what was wrong. */
  constructor(problem: string) {
    super(`deno task bench peer: ${problem}`);
    this.name = "PeerBenchOptionsError";
  }
}

/** Parses the section's flags (`deno task bench peer --full --latency-ms 5`). */
export function parsePeerBenchArgs(args: string[]): PeerBenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        tenants: { type: "string", default: "1000" },
        "one-by-one": { type: "string", default: "50" },
        "latency-ms": { type: "string", default: "5" },
        rounds: { type: "string", default: "3" },
        concurrency: { type: "string", default: "8" },
        full: { type: "boolean", default: false },
        large: { type: "string", default: "10000" },
        only: { type: "string" },
      },
    }));
  } catch (error) {
    throw new PeerBenchOptionsError(error instanceof Error ? error.message : String(error));
  }
  const only = values.only?.split(",").map((key) => key.trim());
  const unknown = only?.filter((key) => !CONTENDER_KEYS.includes(key as ContenderKey)) ?? [];
  if (unknown.length) {
    throw new PeerBenchOptionsError(
      `--only: unknown contender(s) ${unknown.join(", ")}; known: ${CONTENDER_KEYS.join(", ")}`,
    );
  }
  const number = (flag: string, text: string, min: number) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min) {
      throw new PeerBenchOptionsError(
        `--${flag}: expected an integer of at least ${min}, got "${text}"`,
      );
    }
    return value;
  };
  return {
    tenants: number("tenants", values.tenants, 1),
    oneByOne: number("one-by-one", values["one-by-one"], 1),
    latencyMs: number("latency-ms", values["latency-ms"], 0),
    rounds: number("rounds", values.rounds, 1),
    concurrency: number("concurrency", values.concurrency, 1),
    full: values.full,
    large: number("large", values.large, 1),
    ...(only ? { only: only as ContenderKey[] } : {}),
  };
}

/** What one pass over a fresh dev server does with a contender. */
interface Pass {
  /** Tenants pending at start. */
  count: number;
  /** Latency fault, in ms. */
  latencyMs: number;
  /** Tenants created one at a time afterwards (0: none). */
  oneByOne: number;
  /** Also measure one periodic resync. */
  resync: boolean;
  /** Also read the restarted contender's RSS once settled (the RSS figures). */
  settle: boolean;
}

/** One pass under way: its dev server, readiness watch and how to start the contender. */
interface PassRun {
  /** What the pass does. */
  pass: Pass;
  /** The pass's dev server and client. */
  env: BenchEnv;
  /** Readiness of every tenant, watched since before the contender started. */
  ready: ReadyWatch;
  /** `contender, N ms`, for the progress lines. */
  label: string;
  /** Starts the contender (with a `--resync-period` when given). */
  start(resyncPeriod?: string): BenchProcess;
}

/** `pass.count` tenants pending when the contender starts, until all are Ready and it is quiet. */
async function measurePending(run: PassRun): Promise<NewTenants> {
  const { env, pass: { count } } = run;
  env.server.counters.reset();
  await using running = run.start();
  const first = await waitFirstRequest(env.server);
  await run.ready.count(count, READY_TIMEOUT_MS);
  const seconds = (performance.now() - first) / 1000;
  await waitIdle(running, { server: env.server, quietMs: QUIET_MS });
  const tally = tallyRequests(env.server);
  const { peakMiB } = await running.memory();
  console.log(
    `  ${run.label}: ${count} pending → all Ready in ${seconds.toFixed(2)} s; per tenant ${
      formatPerTenant(tally, count)
    }; peak RSS ${peakMiB.toFixed(1)} MiB`,
  );
  return { count, rounds: [seconds], tally, peakMiB };
}

/** A fresh contender over the ready tenants, until quiet. */
async function measureRestart(run: PassRun, concurrency: number): Promise<Restart> {
  const { env, pass: { count } } = run;
  const result = await restart(env, count, {
    concurrency,
    quietMs: QUIET_MS,
    start: () => run.start(),
    settleMs: run.pass.settle ? RSS_SETTLE_MS : undefined,
  });
  const tally = tallyRequests(env.server);
  console.log(
    `  ${run.label}: restart over ${count} ready: ${result.seconds.toFixed(2)} s to quiet, ${
      formatTotals(tally)
    }; RSS at rest ${result.memory.rssMiB.toFixed(1)} MiB${
      result.settledMiB === undefined
        ? ""
        : `, ${RSS_SETTLE_MS / 1000} s after start ${result.settledMiB.toFixed(1)} MiB`
    }`,
  );
  return {
    count,
    seconds: result.seconds,
    tally,
    rssMiB: result.memory.rssMiB,
    settledMiB: result.settledMiB,
  };
}

/**
 * A fresh contender with a resync period longer than its start-up (twice the measured restart
 * time plus margins, at least 10 s): requests from the end of its start-up until it is idle
 * after its first resync.
 */
async function measureResync(run: PassRun, restartSeconds: number): Promise<Resync> {
  const { env, pass: { count } } = run;
  const periodMs = Math.max(10_000, Math.ceil(2 * restartSeconds + QUIET_MS / 1000 + 2) * 1000);
  env.server.counters.reset();
  const started = performance.now();
  await using running = run.start(`${periodMs / 1000}s`);
  await waitFirstRequest(env.server);
  const overlapped =
    await waitIdle(running, { server: env.server, quietMs: QUIET_MS }) - started >= periodMs;
  env.server.counters.reset();
  await sleep(Math.max(0, started + periodMs + RESYNC_GRACE_MS - performance.now()));
  await waitIdle(running, { server: env.server, quietMs: QUIET_MS });
  const tally = tallyRequests(env.server);
  console.log(
    `  ${run.label}: one resync over ${count} ready (--resync-period ${periodMs / 1000}s): ${
      formatTotals(tally)
    }${overlapped ? " (start-up still running when it was due: mixed figure)" : ""}`,
  );
  return { count, periodMs, tally, overlapped };
}

/**
 * A fresh contender, once quiet, gets `pass.oneByOne` tenants one at a time: each is created
 * when the previous one is Ready and the server has been quiet for {@linkcode SETTLE_MS}.
 */
async function measureOneByOne(run: PassRun): Promise<OneByOne> {
  const { env, pass: { count, oneByOne } } = run;
  env.server.counters.reset();
  await using running = run.start();
  await waitFirstRequest(env.server);
  await waitIdle(running, { server: env.server, quietMs: QUIET_MS });
  env.server.counters.reset();
  const latenciesMs: number[] = [];
  for (let i = count; i < count + oneByOne; i++) {
    await createTenants(env.tenants, i, 1, 1);
    const created = performance.now();
    latenciesMs.push(await run.ready.readyAt(`bench-${i}`, READY_TIMEOUT_MS) - created);
    await waitQuiet(env.server, SETTLE_MS);
  }
  latenciesMs.sort((a, b) => a - b);
  const tally = tallyRequests(env.server, new Map([["create tenants", oneByOne]]));
  console.log(
    `  ${run.label}: ${oneByOne} created one at a time: per tenant ${
      formatPerTenant(tally, oneByOne)
    }; create → Ready p50 ${percentile(latenciesMs, 50).toFixed(1)} ms, p90 ${
      percentile(latenciesMs, 90).toFixed(1)
    } ms`,
  );
  return { count: oneByOne, tally, latenciesMs };
}

/**
 * Runs `body` with a pass of `contender` under way: a fresh dev server holding `pass.count`
 * pending tenants, its readiness watch open and its latency fault set.
 */
async function inPass(
  contender: Contender,
  { pass, concurrency }: { pass: Pass; concurrency: number },
  body: (run: PassRun) => Promise<void>,
): Promise<void> {
  const env = await setup((pass.count + pass.oneByOne) * 20);
  try {
    await createTenants(env.tenants, 0, pass.count, 64);
    await using ready = await ReadyWatch.open(env.client);
    env.server.faults.setLatency(pass.latencyMs);
    // Every contender starts against a bench process (the server's) without the garbage of the
    // passes before it (`deno task bench` exposes V8's gc()).
    (globalThis as { gc?: () => void }).gc?.();
    await body({
      pass,
      env,
      ready,
      label: `${contender.title}, ${pass.latencyMs} ms`,
      start: (resyncPeriod) => contender.start(env.kubeconfig, { concurrency, resyncPeriod }),
    });
  } finally {
    env.server.faults.clear();
    await env.close();
  }
}

/**
 * Runs one pass of `contender`, latency on: pending to Ready, a restart, a resync, tenants one at
 * a time (as `pass` says), adding what it measured to `measured`.
 */
function runPass(
  contender: Contender,
  { pass, options, measured }: { pass: Pass; options: PeerBenchOptions; measured: Measured },
): Promise<void> {
  const key = passKey(pass.count, pass.latencyMs);
  return inPass(contender, { pass, concurrency: options.concurrency }, async (run) => {
    measured.pending.set(key, await measurePending(run));
    if (contender.restarts) {
      const restarted = await measureRestart(run, options.concurrency);
      measured.restarts.set(key, restarted);
      if (pass.resync) {
        measured.resyncs.set(pass.count, await measureResync(run, restarted.seconds));
      }
    }
    if (pass.oneByOne > 0) measured.oneByOne.set(pass.latencyMs, await measureOneByOne(run));
  });
}

/**
 * Measures one more round of `options.tenants` pending tenants of `contender` at `latencyMs`,
 * adding its time to the figure the first round made.
 */
function morePending(
  contender: Contender,
  { latencyMs, options, measured }: {
    latencyMs: number;
    options: PeerBenchOptions;
    measured: Measured;
  },
): Promise<void> {
  const pass = pendingOnly(options.tenants, latencyMs);
  return inPass(contender, { pass, concurrency: options.concurrency }, async (run) => {
    const [seconds] = (await measurePending(run)).rounds;
    measured.pending.get(passKey(pass.count, latencyMs))!.rounds.push(seconds);
  });
}

/** A pass of `count` pending tenants to Ready at `latencyMs`, and nothing else. */
function pendingOnly(count: number, latencyMs: number): Pass {
  return { count, latencyMs, oneByOne: 0, resync: false, settle: false };
}

/** `all` rotated left by `by` places: round `by`'s order. */
function rotated<T>(all: readonly T[], by: number): T[] {
  const start = by % all.length;
  return [...all.slice(start), ...all.slice(0, start)];
}

/**
 * Runs every contender once over `count` pending tenants to Ready (no latency, nothing else),
 * unmeasured. The dev API server runs in the bench's process: its code is compiled, and the
 * process's heap grown, as the first passes reach it, which slowed whichever contender was
 * measured first (by about 10% of the 1,000-tenant figures); each contender takes its own paths
 * through it (patch types, selectors, watches).
 */
async function warmUp(
  all: readonly Contender[],
  { count, concurrency }: { count: number; concurrency: number },
): Promise<void> {
  const started = performance.now();
  const pass = pendingOnly(count, 0);
  for (const contender of all) {
    await inPass(contender, { pass, concurrency }, async (run) => {
      await using running = run.start();
      await run.ready.count(count, READY_TIMEOUT_MS);
      await waitIdle(running, { server: run.env.server, quietMs: SETTLE_MS * 10 });
    });
  }
  console.log(
    `  warm-up: every contender over ${count} pending tenants, not measured (${
      ((performance.now() - started) / 1000).toFixed(1)
    } s)`,
  );
}

/** The `peer` section: every figure for every contender, then the table. */
export async function benchPeer(args: readonly string[] = []): Promise<void> {
  const options = parsePeerBenchArgs([...args]);
  const dir = await Deno.makeTempDir({ prefix: "kleff-bench-peer-" });
  try {
    const seedPlans = `${dir}/seed_plans.yaml`;
    await Deno.writeTextFile(seedPlans, SEED_PLANS_YAML);
    const all = contenders(seedPlans).filter((contender) =>
      options.only?.includes(contender.key) ?? true
    );
    const measured = new Map<ContenderKey, Measured>(all.map((contender) => [contender.key, {
      pending: new Map(),
      oneByOne: new Map(),
      restarts: new Map(),
      resyncs: new Map(),
    }]));
    console.log(
      `peer: ${options.tenants} pending tenants (${options.rounds} rounds), ${options.oneByOne} more one at a time, ${options.concurrency} workers each, latency ${options.latencyMs} ms and 0 ms${
        options.full ? `; restart, resync and RSS over ${options.large} ready` : ""
      }`,
    );
    await warmUp(all, { count: options.tenants, concurrency: options.concurrency });
    const run = (contender: Contender, pass: Pass) =>
      runPass(contender, { pass, options, measured: measured.get(contender.key)! });
    // The resync and RSS figures are ours (default plans) against the peer's.
    const compared = (contender: Contender) => contender.key === "ours" || contender.key === "peer";
    for (const latencyMs of [...new Set([options.latencyMs, 0])]) {
      for (const contender of all) {
        const atRest = latencyMs === 0 && compared(contender);
        await run(contender, {
          count: options.tenants,
          latencyMs,
          oneByOne: options.oneByOne,
          resync: atRest,
          settle: atRest,
        });
      }
      // More rounds of the pending figure alone, each contender in another place of the order.
      for (let round = 1; round < options.rounds; round++) {
        for (const contender of rotated(all, round)) {
          await morePending(contender, {
            latencyMs,
            options,
            measured: measured.get(contender.key)!,
          });
        }
      }
    }
    for (const contender of options.tenants === SMALL ? [] : all.filter(compared)) {
      await run(contender, {
        count: SMALL,
        latencyMs: 0,
        oneByOne: 0,
        resync: false,
        settle: true,
      });
    }
    if (options.full) {
      for (const contender of all.filter((contender) => contender.key !== "ours-seed")) {
        await run(contender, {
          count: options.large,
          latencyMs: 0,
          oneByOne: 0,
          resync: contender.key !== "floor",
          settle: true,
        });
      }
    }
    console.log("");
    printTable(
      all,
      figures(all, {
        measured,
        tenants: options.tenants,
        sizes: [options.tenants, ...(options.full ? [options.large] : [])],
        latencies: [...new Set([options.latencyMs, 0])],
        baseline: SMALL,
        settleSeconds: RSS_SETTLE_MS / 1000,
      }),
    );
    const peerResync = measured.get("peer")?.resyncs.get(options.tenants)?.tally;
    if (peerResync) {
      console.log(
        `\nThe peer's resync re-enqueues every Tenant from its cache: ${
          requestCount(peerResync)
        } requests in that window${
          peerResync.watch ? " (watch re-opens: client-node ends a watch silent for 30 s)" : ""
        }.`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await benchPeer(Deno.args);
