// Operator benchmarks: N tenants created at once against the dev API server,
// with the operator as a separate process so its RSS and requests are its own.
// Prints seconds to all TenantReady, requests per tenant by verb, peak RSS,
// the writes of a restart over ready tenants, and RSS versus tenant count.
import type { CustomResourceDefinition } from "kubernetes-types/apiextensions/v1.d.ts";
import { parse } from "yaml";
import { type DevApiServer, startDevApiServer } from "../lib/apiserver/mod.ts";
import {
  connect,
  customResourceDefinitions,
  type KubeClient,
  type ResourceClient,
} from "../lib/client/mod.ts";
import { type Tenant, TENANT_RESOURCE } from "../lib/api/mod.ts";
import { operatorRunArgs } from "../lib/operator/process.ts";

const ROOT = new URL("../", import.meta.url);
/** The verbs that change objects. */
export const WRITE_VERBS: readonly string[] = [
  "create",
  "update",
  "patch",
  "delete",
  "deletecollection",
];

/** The operator as a child process, with the V8 flags of `deno task start` and the image. */
export class OperatorProcess {
  readonly #child: Deno.ChildProcess;

  /** Starts the operator against `kubeconfig` with `concurrency` workers. */
  constructor(kubeconfig: string, concurrency: number) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: operatorRunArgs([
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
      ]),
      stdout: "null",
      stderr: "inherit",
    }).spawn();
  }

  /**
   * Resident and peak resident memory in MiB, from /proc (through `cat`: Deno asks for
   * --allow-all to read /proc/<pid> directly, --allow-run suffices this way).
   */
  async memory(): Promise<{ rssMiB: number; peakMiB: number }> {
    const output = await new Deno.Command("cat", {
      args: [`/proc/${this.#child.pid}/status`],
      stdout: "piped",
      stderr: "null",
    }).output();
    const status = new TextDecoder().decode(output.stdout);
    const kib = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(status)?.[1]);
    return { rssMiB: kib("VmRSS") / 1024, peakMiB: kib("VmHWM") / 1024 };
  }

  /** SIGTERM and wait for a clean exit. */
  async stop(): Promise<number> {
    this.#child.kill("SIGTERM");
    return (await this.#child.status).code;
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
export async function waitQuiet(server: DevApiServer, quietMs = 2000): Promise<void> {
  let last = -1;
  let since = Date.now();
  for (;;) {
    const total = server.counters.count();
    if (total !== last) {
      last = total;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
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

/**
 * Watches tenants and resolves when `expected` of them are TenantReady=True, calling
 * `onMilestone` (awaited) as the count reaches each of `milestones`.
 */
export async function waitAllReady(
  client: KubeClient,
  expected: number,
  options: { milestones?: readonly number[]; onMilestone?: (count: number) => Promise<void> } = {},
): Promise<void> {
  const stop = new AbortController();
  const ready = new Set<string>();
  const pending = [...options.milestones ?? []].sort((a, b) => a - b);
  for await (
    const event of client.resource<Tenant>(TENANT_RESOURCE).watch({ signal: stop.signal })
  ) {
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
  const env = await setup(count * 20, options);
  try {
    const operator = new OperatorProcess(env.kubeconfig, 8);
    await waitQuiet(env.server, 1000);
    env.server.counters.reset();
    const start = performance.now();
    const readyPromise = waitAllReady(env.client, count);
    await createTenants(env.tenants, 0, count);
    await readyPromise;
    const seconds = (performance.now() - start) / 1000;
    await waitQuiet(env.server);
    const own = new Map([["create tenants", count], ["watch tenants", 1]]);
    const byVerb = operatorRequests(env.server, own);
    const events = env.server.counters.count({ verb: "create", resource: "events" }) +
      env.server.counters.count({ verb: "patch", resource: "events" });
    const writes = WRITE_VERBS.reduce((sum, verb) => sum + (byVerb.get(verb) ?? 0), 0);
    const memory = await operator.memory();
    console.log(`operator: ${count} tenants created at once`);
    console.log(
      `  all TenantReady after     ${seconds.toFixed(2)} s (${
        (count / seconds).toFixed(0)
      } tenants/s)`,
    );
    console.log(`  requests per tenant       ${formatVerbs(byVerb, count)}`);
    console.log(
      `  writes per tenant         ${((writes - events) / count).toFixed(2)} besides Events (${
        (events / count).toFixed(2)
      } Event writes)`,
    );
    console.log(`  operator peak RSS         ${memory.peakMiB.toFixed(1)} MiB`);
    await operator.stop();
    env.server.counters.reset();
    const restartStart = performance.now();
    const restarted = new OperatorProcess(env.kubeconfig, 8);
    await waitQuiet(env.server);
    const restartSeconds = (performance.now() - restartStart) / 1000 - 2;
    const restartVerbs = operatorRequests(env.server, new Map());
    const restartWrites = WRITE_VERBS.reduce((sum, verb) => sum + (restartVerbs.get(verb) ?? 0), 0);
    console.log(
      `  restart over ${count} ready: ${restartWrites} writes, ${
        restartSeconds.toFixed(2)
      } s to quiet, requests ${formatVerbs(restartVerbs, 1)}`,
    );
    await restarted.stop();
  } finally {
    await env.close();
  }
}

if (import.meta.main) {
  await benchOperatorCreate(Number(Deno.args[0] ?? 1000));
}
