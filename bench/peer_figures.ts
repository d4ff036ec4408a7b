// The results of `deno task bench peer` (bench/peer_bench.ts) and the table they print: one row per
// figure of the request-bill comparison, one column per contender.
import type { Contender, ContenderKey } from "./contenders.ts";
import { formatPerTenant, formatTotals, type RequestTally } from "./request_tally.ts";

/** Tenants pending when the contender starts, until all are Ready. */
export interface NewTenants {
  /** Pending tenants. */
  count: number;
  /**
   * From the contender's first answered request to all Ready, in s, in every round measured (the
   * table gives their median).
   */
  rounds: number[];
  /** Requests until idle (of the first round). */
  tally: RequestTally;
  /** Peak RSS of the contender, in MiB (of the first round). */
  peakMiB: number;
}

/** Tenants created one at a time, each once the previous was Ready and the server quiet. */
export interface OneByOne {
  /** Tenants created. */
  count: number;
  /** Requests of the whole series. */
  tally: RequestTally;
  /** Create answered → TenantReady seen, in ms, sorted. */
  latenciesMs: number[];
}

/** A fresh contender over ready tenants. */
export interface Restart {
  /** Ready tenants. */
  count: number;
  /** From its first request until idle, in s. */
  seconds: number;
  /** Requests. */
  tally: RequestTally;
  /** RSS at rest afterwards (idle for the quiet time), in MiB. */
  rssMiB: number;
  /** RSS once settled (see `RestartOptions.settleMs`), in MiB, when measured. */
  settledMiB?: number;
}

/** One periodic resync over ready tenants. */
export interface Resync {
  /** Ready tenants. */
  count: number;
  /** The `--resync-period` used, in ms. */
  periodMs: number;
  /** Requests from the end of the start-up until idle after the resync. */
  tally: RequestTally;
  /** Set when the start-up was still going when the resync was due (the figure is then mixed). */
  overlapped: boolean;
}

/** The key of a pass's figures in {@linkcode Measured}: `tenants@latency`. */
export function passKey(tenants: number, latencyMs: number): string {
  return `${tenants}@${latencyMs}`;
}

/** Everything measured for one contender. */
export interface Measured {
  /** By {@linkcode passKey}. */
  pending: Map<string, NewTenants>;
  /** By latency in ms. */
  oneByOne: Map<number, OneByOne>;
  /** By {@linkcode passKey}. */
  restarts: Map<string, Restart>;
  /** By tenants. */
  resyncs: Map<number, Resync>;
}

/** The `p`th percentile (nearest rank) of sorted `values`. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** The median (nearest rank: the lower middle of an even count) of `rounds`. */
function medianOf(rounds: readonly number[]): number {
  return percentile([...rounds].sort((a, b) => a - b), 50);
}

/** A table row: the figure's name and one cell per contender (absent: not measured). */
export type Row = [string, Partial<Record<ContenderKey, string>>];

/** What {@linkcode figures} tabulates. */
export interface FigureOptions {
  /** What was measured, by contender. */
  measured: Map<ContenderKey, Measured>;
  /** Pending tenants of the per-tenant figures. */
  tenants: number;
  /** Tenant counts of the restart, resync and RSS figures (`tenants`, then the large count). */
  sizes: readonly number[];
  /** Latencies measured, in ms. */
  latencies: readonly number[];
  /** Tenant count of the RSS baseline. */
  baseline: number;
  /** When the settled RSS was read, in s after the contender's first request. */
  settleSeconds: number;
}

/** The table of every figure, one column per contender; rows nothing was measured for are left out. */
export function figures(
  all: readonly Contender[],
  { measured, tenants, sizes, latencies, baseline, settleSeconds }: FigureOptions,
): Row[] {
  const of =
    <T>(pick: (m: Measured) => T | undefined) =>
    (render: (value: T, key: ContenderKey) => string) =>
      Object.fromEntries(all.flatMap((contender) => {
        const value = pick(measured.get(contender.key)!);
        return value === undefined ? [] : [[contender.key, render(value, contender.key)]];
      })) as Partial<Record<ContenderKey, string>>;
  const rows: Row[] = [];
  const n = tenants.toLocaleString("en-US");
  for (const latency of latencies) {
    rows.push([
      `requests per new tenant, ${n} pending, ${latency} ms`,
      of((m) => m.pending.get(passKey(tenants, latency)))((r) => formatPerTenant(r.tally, r.count)),
    ]);
    rows.push([
      `requests per new tenant, one by one, ${latency} ms`,
      of((m) => m.oneByOne.get(latency))((r) => formatPerTenant(r.tally, r.count)),
    ]);
  }
  for (const size of sizes) {
    for (const latency of latencies) {
      const key = passKey(size, latency);
      const floorRounds = measured.get("floor")?.pending.get(key)?.rounds;
      const floor = floorRounds && medianOf(floorRounds);
      rows.push([
        `${size.toLocaleString("en-US")} pending → all Ready, ${latency} ms`,
        of((m) => m.pending.get(key))((r) => {
          const seconds = medianOf(r.rounds);
          const ratio = floor ? `${(seconds / floor).toFixed(2)}× floor` : "";
          const spread = r.rounds.length > 1
            ? `median of ${r.rounds.length}: ${Math.min(...r.rounds).toFixed(2)}–${
              Math.max(...r.rounds).toFixed(2)
            } s`
            : "";
          const notes = [ratio, spread].filter(Boolean).join("; ");
          return `${seconds.toFixed(2)} s${notes ? ` (${notes})` : ""}`;
        }),
      ]);
    }
  }
  for (const size of sizes) {
    for (const latency of latencies) {
      rows.push([
        `restart over ${size.toLocaleString("en-US")} ready, ${latency} ms`,
        of((m) => m.restarts.get(passKey(size, latency)))((r) =>
          `${formatTotals(r.tally)}; ${r.seconds.toFixed(2)} s`
        ),
      ]);
    }
    rows.push([
      `periodic resync over ${size.toLocaleString("en-US")} ready`,
      of((m) => m.resyncs.get(size))((r) =>
        `${formatTotals(r.tally)}${r.overlapped ? " (mixed with start-up)" : ""}`
      ),
    ]);
    const rss = (title: string, value: (restart?: Restart) => number | undefined) =>
      rows.push([
        `${title}, ${size.toLocaleString("en-US")} vs ${baseline} tenants`,
        of((m) => {
          const big = value(m.restarts.get(passKey(size, 0)));
          const small = value(m.restarts.get(passKey(baseline, 0)));
          return big !== undefined && small !== undefined ? { big, small } : undefined;
        })(({ big, small }) =>
          `${big.toFixed(1)} / ${small.toFixed(1)} MiB = ${(big / small).toFixed(2)}×`
        ),
      ]);
    rss("RSS after restart, once quiet", (restart) => restart?.rssMiB);
    rss(
      `RSS after restart, ${settleSeconds} s after start`,
      (restart) => restart?.settledMiB,
    );
  }
  for (const latency of latencies) {
    rows.push([
      `create → Ready one at a time, p50 / p90, ${latency} ms`,
      of((m) => m.oneByOne.get(latency))((r) =>
        `${percentile(r.latenciesMs, 50).toFixed(1)} / ${
          percentile(r.latenciesMs, 90).toFixed(1)
        } ms`
      ),
    ]);
  }
  return rows.filter(([, cells]) => Object.keys(cells).length > 0);
}

/** Prints `rows` as a Markdown table. */
export function printTable(all: readonly Contender[], rows: readonly Row[]): void {
  const header = ["figure", ...all.map((contender) => contender.title)];
  const lines = [
    header,
    header.map(() => "---"),
    ...rows.map(([figure, cells]) => [figure, ...all.map((c) => cells[c.key] ?? "—")]),
  ];
  for (const line of lines) console.log(`| ${line.join(" | ")} |`);
}
