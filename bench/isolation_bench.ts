// Isolation benchmark (issue 11), the operator as a child process: how fast a guard rail comes
// back after a tenant admin disowns it (labels and annotation stripped, opened up, or stripped
// and deleted) compared with ordinary drift of an owned one, and how many reconciles of other
// tenants ~8,000 patches in one tenant namespace cause when the patched objects carry labels
// naming those tenants. Prints numbers.
import type { NetworkPolicy } from "kubernetes-types/networking/v1.d.ts";
import { type KubeClient, networkPolicies, type WatchEvent } from "../lib/client/mod.ts";
import { RequestLog } from "../tests/support/identities.ts";
import { BenchOperator, setup, waitAllReady, waitQuiet } from "./operator_bench.ts";

/** Tenants: the attacker's first, then the others. */
const TENANTS = 9;
/** Restore measurements per kind of damage. */
const ROUNDS = 40;
/** Patches in the attacker's namespace. */
const PATCHES = 8000;
/** Patches sent at a time. */
const PARALLEL = 16;

/** The NetworkPolicy events of one namespace, as they arrive, for waiting on a state. */
class PolicyTap {
  readonly #stop = new AbortController();
  #waiters: { test: (policy: NetworkPolicy) => boolean; resolve: () => void }[] = [];
  readonly #loop: Promise<void>;

  constructor(client: KubeClient, namespace: string) {
    const watch = client.resource<NetworkPolicy>(networkPolicies).watch({
      namespace,
      signal: this.#stop.signal,
    });
    this.#loop = (async () => {
      for await (const event of watch as AsyncIterable<WatchEvent<NetworkPolicy>>) {
        if (event.type === "SYNCED" || event.type === "DELETED") continue;
        this.#waiters = this.#waiters.filter((waiter) => {
          if (!waiter.test(event.object)) return true;
          waiter.resolve();
          return false;
        });
      }
    })().catch(() => {});
  }

  /** Resolves at the next event whose object passes `test`. */
  next(test: (policy: NetworkPolicy) => boolean): Promise<void> {
    return new Promise((resolve) => this.#waiters.push({ test, resolve }));
  }

  async close(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }
}

/** Whether `policy` is the operator's kleff-isolation, in force. */
function restored(policy: NetworkPolicy, uid: string): boolean {
  return policy.metadata?.name === "kleff-isolation" &&
    policy.metadata.annotations?.["kleff.io/tenant-uid"] === uid &&
    policy.metadata.labels?.["kleff.io/tenant"] === "bench-0" &&
    (policy.spec?.ingress ?? []).every((rule) => (rule.from ?? []).length > 0);
}

function stats(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `median ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, max ${
    sorted.at(-1)!.toFixed(1)
  } ms (${samples.length} rounds)`;
}

/** The isolation section. */
export async function benchIsolation(): Promise<void> {
  console.log(`isolation: ${TENANTS} tenants, the operator as a process (--concurrency 4)`);
  const env = await setup(200_000);
  try {
    for (let i = 0; i < TENANTS; i++) {
      await env.tenants.create({
        apiVersion: "kleff.kleff.io/v1",
        kind: "Tenant",
        metadata: { name: `bench-${i}` },
        spec: { userId: `bench-user-${i}`, username: `user${i}`, plan: "basic" },
      });
    }
    const namespace = "bench-user-0";
    const policies = env.client.resource<NetworkPolicy>(networkPolicies);
    {
      await using _operator = new BenchOperator(env.kubeconfig, 4);
      await waitAllReady(env.client, TENANTS);
      await waitQuiet(env.server, 500);
      const uid = (await env.tenants.get("bench-0")).metadata!.uid!;
      const tap = new PolicyTap(env.client, namespace);
      const damage: Record<string, () => Promise<unknown>> = {
        "ordinary drift (owned, opened up)": () =>
          policies.patch("kleff-isolation", { spec: { ingress: [{}] } }, { namespace }),
        "disowned (labels and annotation stripped, opened up)": () =>
          policies.patch("kleff-isolation", {
            metadata: {
              labels: { "app.kubernetes.io/managed-by": null, "kleff.io/tenant": null },
              annotations: { "kleff.io/tenant-uid": null },
            },
            spec: { ingress: [{}] },
          }, { namespace }),
        "disowned, then deleted": async () => {
          await policies.patch("kleff-isolation", {
            metadata: {
              labels: { "app.kubernetes.io/managed-by": null, "kleff.io/tenant": null },
              annotations: { "kleff.io/tenant-uid": null },
            },
          }, { namespace });
          await policies.delete("kleff-isolation", { namespace }).catch(() => {});
        },
      };
      for (const [what, act] of Object.entries(damage)) {
        const samples: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          const start = performance.now();
          const back = tap.next((policy) => restored(policy, uid));
          await act();
          await back;
          samples.push(performance.now() - start);
          await waitQuiet(env.server, 200);
        }
        console.log(`  restore after ${what}: ${stats(samples)}`);
      }
      await tap.close();
    }

    // The same operator through a logging proxy: which tenants do the attacker's patches wake?
    await using log = new RequestLog(env.server.url);
    const kubeconfig = JSON.parse(await Deno.readTextFile(env.kubeconfig));
    kubeconfig.clusters[0].cluster.server = log.url;
    const proxied = `${env.kubeconfig}.proxied`;
    await Deno.writeTextFile(proxied, JSON.stringify(kubeconfig));
    await using _operator = new BenchOperator(proxied, 4);
    await waitQuiet(env.server, 1000);
    const names = Array.from({ length: TENANTS - 1 }, (_, i) => `bench-${i + 1}`);
    const targets: string[] = [];
    for (const victim of names) {
      const uid = (await env.tenants.get(victim)).metadata!.uid!;
      for (const name of [`claim-${victim}`, `kleff-claim-${victim}`]) {
        await policies.create({
          apiVersion: "networking.k8s.io/v1",
          kind: "NetworkPolicy",
          metadata: {
            name,
            namespace,
            labels: {
              "app.kubernetes.io/managed-by": "kleff-tenant-operator",
              "kleff.io/tenant": victim,
            },
            annotations: { "kleff.io/tenant-uid": uid },
          },
          spec: { podSelector: {} },
        }, { namespace });
        targets.push(name);
      }
    }
    await waitQuiet(env.server, 1000);
    const count = (name: string) => log.reconciles(name);
    const before = new Map(["bench-0", ...names].map((name) => [name, count(name)]));
    const reads = () =>
      log.requests.filter((request) => request.method === "GET" && !request.watch).length;
    const readsBefore = reads();
    const start = performance.now();
    let sent = 0;
    await Promise.all(Array.from({ length: PARALLEL }, async () => {
      while (sent < PATCHES) {
        const i = sent++;
        await policies.patch(targets[i % targets.length], {
          metadata: { labels: { round: String(i) } },
        }, { namespace });
      }
    }));
    const seconds = (performance.now() - start) / 1000;
    await waitQuiet(env.server, 1000);
    const others = names.reduce((sum, name) => sum + count(name) - before.get(name)!, 0);
    const own = count("bench-0") - before.get("bench-0")!;
    console.log(
      `  ${PATCHES} patches in ${seconds.toFixed(1)} s in ${namespace} to NetworkPolicies ` +
        `labelled and annotated as ${names.length} other tenants' (half of them named kleff-*):`,
    );
    console.log(
      `    reconciles of the ${names.length} other tenants: ${others}; of the namespace's own ` +
        `tenant: ${own} (kleff-* names only, coalesced); operator API reads: ${
          reads() - readsBefore
        }`,
    );
  } finally {
    await env.close();
  }
}
