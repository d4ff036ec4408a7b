// Operator benchmarks: N tenants created at once against the dev API server,
// with the operator as a separate process so its RSS and requests are its own.
// Prints seconds to all TenantReady, requests per tenant by verb, peak RSS,
// the writes of a restart over ready tenants, and RSS versus tenant count.
import type { CustomResourceDefinition } from "kubernetes-types/apiextensions/v1.d.ts";
import { parse } from "yaml";
import { type DevApiServer, startDevApiServer } from "../dev_apiserver/mod.ts";
import {
  connect,
  customResourceDefinitions,
  type KubeClient,
  type ResourceClient,
} from "../lib/client/mod.ts";
import { type Tenant, TENANT_RESOURCE } from "../lib/api/mod.ts";
import { operatorCommand, type ProcessCommand } from "../tools/operator_process.ts";
import { sleep } from "../lib/backoff.ts";
import { QuietStretch } from "./quiet_stretch.ts";

const ROOT = new URL("../", import.meta.url);
/** The verbs that change objects. */
export const WRITE_VERBS: readonly string[] = [
  "create",
  "update",
  "patch",
  "delete",
  "deletecollection",
];

/** Time without requests after which the server counts as quiet, in ms. */
const QUIET_MS = 2000;

/**
 * A process under measurement (an operator, the peer, the write-only floor), its error logs on
 * the bench's stderr; `await using` stops it however the benchmark ends.
 */
export class BenchProcess implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  #exit?: Promise<number>;

  /** Starts `Deno.execPath()` as `command` says. */
  constructor(command: ProcessCommand) {
    this.#child = new Deno.Command(Deno.execPath(), {
      ...command,
      stdout: "null",
      stderr: "inherit",
    }).spawn();
  }

  /**
   * Resident and peak resident memory in MiB, from /proc (through `cat`: Deno asks for
   * --allow-all to read /proc/<pid> directly, --allow-run suffices this way).
   */
  async memory(): Promise<{ rssMiB: number; peakMiB: number }> {
    const status = await this.#proc("status");
    const kib = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(status)?.[1]);
    return { rssMiB: kib("VmRSS") / 1024, peakMiB: kib("VmHWM") / 1024 };
  }

  /** CPU time used so far (user and system), in ms, from /proc/<pid>/stat. */
  async cpuMs(): Promise<number> {
    const stat = await this.#proc("stat");
    // After "pid (comm) ": state is field 3, utime field 14, stime field 15, in USER_HZ (100/s).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  }

  async #proc(file: string): Promise<string> {
    const output = await new Deno.Command("cat", {
      args: [`/proc/${this.#child.pid}/${file}`],
      stdout: "piped",
      stderr: "null",
    }).output();
    return new TextDecoder().decode(output.stdout);
  }

  /** SIGTERM (once) and wait for the exit code. */
  stop(): Promise<number> {
    if (!this.#exit) {
      try {
        this.#child.kill("SIGTERM");
      } catch {
        // Already exited: its status says how.
      }
      this.#exit = this.#child.status.then((status) => status.code);
    }
    return this.#exit;
  }

  /** Same as {@linkcode stop}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Options of {@linkcode BenchOperator}. */
export interface BenchOperatorOptions {
  /** More operator flags (`--plans FILE`, `--resync-period 30s`, ...). */
  flags?: readonly string[];
}

/** The operator as a child process, with the V8 flags and environment of `deno task start` and the image. */
export class BenchOperator extends BenchProcess {
  /** Starts the operator against `kubeconfig` with `concurrency` workers. */
  constructor(kubeconfig: string, concurrency: number, options: BenchOperatorOptions = {}) {
    super(operatorCommand([
      "--kubeconfig",
      kubeconfig,
      "--concurrency",
      String(concurrency),
      "--log-level",
      "error",
      "--log-format",
      "json",
      "--metrics-bind-address",
      "0",
      "--health-probe-bind-address",
      "0",
      ...options.flags ?? [],
    ]));
  }
}

/** Counts server requests by verb, minus what the bench itself sent. */
export function operatorRequests(
  server: DevApiServer,
  own: Map<string, number>,
): Map<string, number> {
  const byVerb = new Map<string, number>();
  for (const row of server.counters.snapshot()) {
    const key = `${row.verb} ${row.resource}`;
    byVerb.set(row.verb, (byVerb.get(row.verb) ?? 0) + row.count - (own.get(key) ?? 0));
    own.delete(key);
  }
  return byVerb;
}

/** Resolves once the server has seen no request for `quietMs`. */
export async function waitQuiet(server: DevApiServer, quietMs: number): Promise<void> {
  let last = -1;
  let since = Date.now();
  for (;;) {
    const total = server.counters.count();
    if (total !== last) {
      last = total;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
    await sleep(Math.min(100, quietMs / 5));
  }
}

/** Thrown when a process does not go idle in time. */
export class NotIdleError extends Error {
  /** Builds the error saying how long the bench waited. */
  constructor(timeoutMs: number) {
    super(`the process under measurement was still busy after ${timeoutMs / 1000} s`);
    this.name = "NotIdleError";
  }
}

/** Options of {@linkcode waitIdle}. */
export interface WaitIdleOptions {
  /** The server the process talks to. */
  server: DevApiServer;
  /** How long without requests or CPU counts as idle, in ms. */
  quietMs: number;
  /** Give up with a {@linkcode NotIdleError} after this long (default 10 min). */
  timeoutMs?: number;
}

/** Between two looks at the process while waiting for it to go idle, in ms. */
const IDLE_POLL_MS = 100;

/**
 * Resolves once `process` is idle: for `quietMs` the server has seen no request and the process
 * has used next to no CPU (a streaming list or work from a cache sends no request for a while;
 * its CPU time shows it). Returns the `performance.now()` at which that stretch began: the end of
 * the last look that saw a request or CPU work (see {@linkcode QuietStretch}).
 */
export async function waitIdle(process: BenchProcess, options: WaitIdleOptions): Promise<number> {
  const { server, quietMs, timeoutMs = 600_000 } = options;
  const deadline = performance.now() + timeoutMs;
  const look = async () => ({
    requests: server.counters.count(),
    cpuMs: await process.cpuMs(),
    at: performance.now(),
  });
  const stretch = new QuietStretch(await look(), { quietMs });
  while (performance.now() < deadline) {
    await sleep(Math.min(IDLE_POLL_MS, quietMs / 5));
    const start = stretch.add(await look());
    if (start !== undefined) return start;
  }
  throw new NotIdleError(timeoutMs);
}

/**
 * Resolves, with its `performance.now()`, at the first request the server answered since its
 * counters were reset: a process's start-up (loading its code) ends there.
 */
export async function waitFirstRequest(server: DevApiServer): Promise<number> {
  while (server.counters.count() === 0) await sleep(1);
  return performance.now();
}

/** Creates tenants t0..t(n-1) starting at `from`, `parallel` at a time. */
export async function createTenants(
  tenants: ResourceClient<Tenant>,
  from: number,
  count: number,
  parallel = 32,
): Promise<void> {
  const plans = ["free", "basic", "pro"];
  let next = from;
  const worker = async () => {
    while (next < from + count) {
      const i = next++;
      await tenants.create({
        apiVersion: "kleff.kleff.io/v1",
        kind: "Tenant",
        metadata: { name: `bench-${i}` },
        spec: { userId: `bench-user-${i}`, username: `user${i}`, plan: plans[i % plans.length] },
      });
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

/** Thrown when tenants do not all become Ready in time. */
export class BenchTimeoutError extends Error {
  /** Builds the error saying how many tenants were Ready. */
  constructor(ready: number, expected: number, timeoutMs: number) {
    super(`only ${ready} of ${expected} tenants TenantReady after ${timeoutMs / 1000} s`);
    this.name = "BenchTimeoutError";
  }
}

/** Options of {@linkcode waitAllReady}. */
export interface WaitAllReadyOptions {
  /** Counts at which to call `onMilestone`. */
  milestones?: readonly number[];
  /** Called (and awaited) as the Ready count reaches each milestone. */
  onMilestone?: (count: number) => Promise<void>;
  /** Give up with a {@linkcode BenchTimeoutError} after this long (default 5 min). */
  timeoutMs?: number;
}

/**
 * Watches tenants and resolves when `expected` of them are TenantReady=True, calling
 * `onMilestone` (awaited) as the count reaches each of `milestones`.
 */
export async function waitAllReady(
  client: KubeClient,
  expected: number,
  options: WaitAllReadyOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  const stop = new AbortController();
  const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(timeoutMs)]);
  const ready = new Set<string>();
  const pending = [...options.milestones ?? []].sort((a, b) => a - b);
  for await (const event of client.resource<Tenant>(TENANT_RESOURCE).watch({ signal })) {
    if (event.type === "SYNCED") continue;
    const name = event.object.metadata?.name ?? "";
    const condition = event.object.status?.conditions?.find((c) => c.type === "TenantReady");
    if (event.type !== "DELETED" && condition?.status === "True") ready.add(name);
    else ready.delete(name);
    while (pending.length && ready.size >= pending[0]) {
      await options.onMilestone?.(pending.shift()!);
    }
    if (ready.size >= expected) break;
  }
  stop.abort();
  if (ready.size < expected) throw new BenchTimeoutError(ready.size, expected, timeoutMs);
}

/** What {@linkcode setup} gives a benchmark. */
export interface BenchEnv {
  /** The in-process dev API server. */
  server: DevApiServer;
  /** The bench's own client (not the operator's). */
  client: KubeClient;
  /** Path of the kubeconfig the operator is given. */
  kubeconfig: string;
  /** Tenants through the bench's client. */
  tenants: ResourceClient<Tenant>;
  /** Stops the client and server and removes the temp folder. */
  close(): Promise<void>;
}

/** The Istio and Gatekeeper CRD fixtures, installed for the full feature set. */
const INTEGRATION_CRDS = [
  "istio_gateway.yaml",
  "istio_authorization_policy.yaml",
  "istio_peer_authentication.yaml",
  "istio_sidecar.yaml",
  "gatekeeper_k8sallowedrepos.yaml",
].map((file) => new URL(`tests/fixtures/crds/${file}`, ROOT));

/**
 * A dev server with the Tenant CRD (and, with `integrations`, the Istio and Gatekeeper
 * CRDs), a kubeconfig file and a client.
 */
export async function setup(
  historyLimit: number,
  options: { integrations?: boolean } = {},
): Promise<BenchEnv> {
  const server = await startDevApiServer({ historyLimit });
  const dir = await Deno.makeTempDir({ prefix: "kleff-bench-" });
  const kubeconfig = `${dir}/kubeconfig`;
  await server.writeKubeconfig(kubeconfig);
  const client = await connect({ kubeconfig, maxInFlight: 64 });
  const crd = parse(
    await Deno.readTextFile(new URL("deploy/crd.yaml", ROOT)),
  ) as CustomResourceDefinition;
  await client.resource<CustomResourceDefinition>(customResourceDefinitions).create(crd);
  for (const url of options.integrations ? INTEGRATION_CRDS : []) {
    const integration = parse(await Deno.readTextFile(url)) as CustomResourceDefinition;
    await client.resource<CustomResourceDefinition>(customResourceDefinitions).create(integration);
  }
  const close = async () => {
    client.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  };
  return { server, client, kubeconfig, close, tenants: client.resource<Tenant>(TENANT_RESOURCE) };
}

/** The operator's writes by kind. */
export interface WriteCounts {
  /** Every write (the {@linkcode WRITE_VERBS}), Events included. */
  writes: number;
  /** Event creates and patches. */
  events: number;
}

/** Sums the writes of `byVerb` (from {@linkcode operatorRequests}) and counts the Event writes. */
export function writeCounts(server: DevApiServer, byVerb: Map<string, number>): WriteCounts {
  return {
    writes: WRITE_VERBS.reduce((sum, verb) => sum + (byVerb.get(verb) ?? 0), 0),
    events: server.counters.count({ verb: "create", resource: "events" }) +
      server.counters.count({ verb: "patch", resource: "events" }),
  };
}

/** `n.nn besides Events (n.nn Event writes)` per tenant. */
export function formatWrites(counts: WriteCounts, tenants: number): string {
  return `${((counts.writes - counts.events) / tenants).toFixed(2)} besides Events (${
    (counts.events / tenants).toFixed(2)
  } Event writes)`;
}

/**
 * When a restarted operator's settled RSS is read, in ms after its first request: after the first
 * pass of V8's memory reducer (30 s after the isolate starts, in Deno and Node alike).
 */
export const RSS_SETTLE_MS = 45_000;

/** What a restart over ready tenants cost. */
export interface RestartResult {
  /** Tenants the restarted operator found. */
  count: number;
  /** Seconds from the first request until it went idle. */
  seconds: number;
  /** The operator's requests by verb. */
  byVerb: Map<string, number>;
  /** The operator's writes. */
  writes: number;
  /** The restarted operator's memory at rest. */
  memory: { rssMiB: number; peakMiB: number };
  /** Its RSS `settleMs` after its first request, in MiB (with `settleMs`). */
  settledMiB?: number;
}

/** Options of {@linkcode restart}. */
export interface RestartOptions {
  /** The operator's workers. */
  concurrency: number;
  /** How long without requests or CPU counts as done, in ms. */
  quietMs: number;
  /** Starts what restarts (default: the operator with `concurrency` workers). */
  start?: () => BenchProcess;
  /**
   * Also read its RSS this long after its first request (at least once idle): the engine returns
   * the garbage of a start-up to the system only after a while (V8's memory reducer starts 30 s
   * after the isolate), so this is the RSS a running process settles at.
   */
  settleMs?: number;
}

/**
 * Starts a fresh operator (or what `options.start` starts) over `count` ready tenants (none
 * running) and measures it from its first request until it is idle for `quietMs` (no request,
 * no CPU): seconds, requests, writes and memory; then stops it.
 */
export async function restart(
  env: BenchEnv,
  count: number,
  options: RestartOptions,
): Promise<RestartResult> {
  env.server.counters.reset();
  await using operator = options.start?.() ??
    new BenchOperator(env.kubeconfig, options.concurrency);
  const start = await waitFirstRequest(env.server);
  const idle = await waitIdle(operator, { server: env.server, quietMs: options.quietMs });
  const seconds = (idle - start) / 1000;
  const byVerb = operatorRequests(env.server, new Map());
  const { writes } = writeCounts(env.server, byVerb);
  const memory = await operator.memory();
  if (options.settleMs === undefined) return { count, seconds, byVerb, writes, memory };
  await sleep(Math.max(0, start + options.settleMs - performance.now()));
  const { rssMiB: settledMiB } = await operator.memory();
  return { count, seconds, byVerb, writes, memory, settledMiB };
}

/** `verb n.nn` per tenant, sorted by verb, zero counts left out. */
export function formatVerbs(byVerb: Map<string, number>, tenants: number): string {
  return [...byVerb].filter(([, count]) => count > 0).sort()
    .map(([verb, count]) => `${verb} ${(count / tenants).toFixed(2)}`).join(", ");
}

/**
 * Creates `count` tenants at once and reports time to Ready, requests, RSS and a restart;
 * with `integrations`, Istio and Gatekeeper are served (the full feature set).
 */
export async function benchOperatorCreate(
  count = 1000,
  options: { integrations?: boolean } = {},
): Promise<void> {
  const concurrency = 8;
  const env = await setup(count * 20, options);
  try {
    await using operator = new BenchOperator(env.kubeconfig, concurrency);
    await waitQuiet(env.server, 1000);
    env.server.counters.reset();
    const start = performance.now();
    const readyPromise = waitAllReady(env.client, count);
    await createTenants(env.tenants, 0, count);
    await readyPromise;
    const seconds = (performance.now() - start) / 1000;
    await waitQuiet(env.server, QUIET_MS);
    const own = new Map([["create tenants", count], ["watch tenants", 1]]);
    const byVerb = operatorRequests(env.server, own);
    const writes = writeCounts(env.server, byVerb);
    const memory = await operator.memory();
    console.log(`operator: ${count} tenants created at once`);
    console.log(
      `  all TenantReady after     ${seconds.toFixed(2)} s (${
        (count / seconds).toFixed(0)
      } tenants/s)`,
    );
    console.log(`  requests per tenant       ${formatVerbs(byVerb, count)}`);
    console.log(`  writes per tenant         ${formatWrites(writes, count)}`);
    console.log(`  operator peak RSS         ${memory.peakMiB.toFixed(1)} MiB`);
    await operator.stop();
    const restarted = await restart(env, count, { concurrency, quietMs: QUIET_MS });
    console.log(
      `  restart over ${count} ready: ${restarted.writes} writes, ${
        restarted.seconds.toFixed(2)
      } s to quiet, requests ${formatVerbs(restarted.byVerb, 1)}`,
    );
  } finally {
    await env.close();
  }
}

if (import.meta.main) {
  await benchOperatorCreate(Number(Deno.args[0] ?? 1000));
}
