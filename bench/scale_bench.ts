// Scale benchmark: 10,000 tenants against the dev API server with the
// operator as a child process. Prints seconds to all TenantReady, requests per
// tenant by verb, the operator's peak RSS, RSS versus tenant count (while
// growing and after a restart), and the time and requests of a restart.
import {
  BenchOperator,
  createTenants,
  formatVerbs,
  formatWrites,
  operatorRequests,
  restart,
  type RestartResult,
  RSS_SETTLE_MS,
  setup,
  waitAllReady,
  waitQuiet,
  writeCounts,
} from "./operator_bench.ts";

const CONCURRENCY = 16;
const QUIET_MS = 2000;

function mib(value: number): string {
  return `${value.toFixed(1)} MiB`;
}

/** How the scale section restarts the operator. */
const RESTART = { concurrency: CONCURRENCY, quietMs: QUIET_MS, settleMs: RSS_SETTLE_MS };

/** The scale section: `count` tenants at once, RSS at `milestones`, a restart at each size. */
export async function benchScale(
  count = 10_000,
  milestones: readonly number[] = [100, 1000],
): Promise<void> {
  console.log(`scale: ${count} tenants created at once, operator --concurrency ${CONCURRENCY}`);
  const growth: string[] = [];
  const env = await setup(count * 20);
  try {
    await using operator = new BenchOperator(env.kubeconfig, CONCURRENCY);
    await waitQuiet(env.server, 1000);
    env.server.counters.reset();
    const start = performance.now();
    const ready = waitAllReady(env.client, count, {
      milestones: [...milestones, count],
      onMilestone: async (reached) => {
        const memory = await operator.memory();
        const seconds = (performance.now() - start) / 1000;
        growth.push(
          `  ${String(reached).padStart(6)} Ready after ${seconds.toFixed(1).padStart(6)} s: RSS ${
            mib(memory.rssMiB)
          }, peak ${mib(memory.peakMiB)}`,
        );
      },
    });
    await createTenants(env.tenants, 0, count, 64);
    const createdSeconds = (performance.now() - start) / 1000;
    await ready;
    const seconds = (performance.now() - start) / 1000;
    await waitQuiet(env.server, QUIET_MS);
    const byVerb = operatorRequests(
      env.server,
      new Map([["create tenants", count], ["watch tenants", 1]]),
    );
    const writes = writeCounts(env.server, byVerb);
    const memory = await operator.memory();
    await operator.stop();
    console.log(
      `  all ${count} TenantReady     ${seconds.toFixed(1)} s (${
        (count / seconds).toFixed(0)
      } tenants/s; creating them took ${createdSeconds.toFixed(1)} s)`,
    );
    console.log(`  requests per tenant       ${formatVerbs(byVerb, count)}`);
    console.log(`  writes per tenant         ${formatWrites(writes, count)}`);
    console.log(
      `  operator peak RSS         ${mib(memory.peakMiB)} (RSS at rest ${mib(memory.rssMiB)})`,
    );
    console.log("  RSS while growing (same process):");
    for (const line of growth) console.log(line);
    const big = await restart(env, count, RESTART);
    console.log(
      `  restart over ${count} Ready: ${
        big.seconds.toFixed(1)
      } s to quiet, ${big.writes} writes, requests ${formatVerbs(big.byVerb, 1)}`,
    );
    const sizes: RestartResult[] = [];
    for (const size of milestones) {
      const small = await setup(size * 20);
      try {
        await using creator = new BenchOperator(small.kubeconfig, CONCURRENCY);
        await createTenants(small.tenants, 0, size, 64);
        await waitAllReady(small.client, size);
        await waitQuiet(small.server, QUIET_MS);
        await creator.stop();
        sizes.push(await restart(small, size, RESTART));
      } finally {
        await small.close();
      }
    }
    sizes.push(big);
    console.log("  RSS of a restarted operator at rest versus tenant count:");
    for (const size of sizes) {
      console.log(
        `  ${String(size.count).padStart(6)} tenants: RSS ${mib(size.memory.rssMiB)}, ${
          RSS_SETTLE_MS / 1000
        } s after start ${mib(size.settledMiB ?? NaN)}, peak ${mib(size.memory.peakMiB)}, restart ${
          size.seconds.toFixed(1)
        } s, ${size.writes} writes`,
      );
    }
  } finally {
    await env.close();
  }
}

if (import.meta.main) await benchScale(Number(Deno.args[0] ?? 10_000));
