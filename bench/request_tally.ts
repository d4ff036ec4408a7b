// What a process under measurement asked the dev API server, by the categories the peer
// section reports: object GETs, LISTs, WATCHes, writes besides Events, Event writes, other
// requests (discovery and other non-resource paths), and how many answers were 409 Conflict.
import type { DevApiServer } from "../dev_apiserver/mod.ts";
import { WRITE_VERBS } from "./operator_bench.ts";

/** Requests by category. */
export interface RequestTally {
  /** GETs of one object. */
  get: number;
  /** LISTs. */
  list: number;
  /** Watches opened. */
  watch: number;
  /** Creates, updates, patches and deletes, Events excluded. */
  writes: number;
  /** Event creates and patches (both API groups). */
  eventWrites: number;
  /** Requests outside resource paths (discovery, `/version`). */
  other: number;
  /** Answers with status 409 (included in the counts above). */
  conflicts: number;
}

/** Every request, from everything the server counted so far minus `own` (`verb resource` → count). */
export function tallyRequests(
  server: DevApiServer,
  own: ReadonlyMap<string, number> = new Map(),
): RequestTally {
  const tally: RequestTally = {
    get: 0,
    list: 0,
    watch: 0,
    writes: 0,
    eventWrites: 0,
    other: 0,
    conflicts: 0,
  };
  const left = new Map(own);
  for (const row of server.counters.snapshot()) {
    const key = `${row.verb} ${row.resource}`;
    const mine = Math.min(left.get(key) ?? 0, row.count);
    left.set(key, (left.get(key) ?? 0) - mine);
    const count = row.count - mine;
    if (row.code === 409) tally.conflicts += count;
    if (row.resource.startsWith("/")) tally.other += count;
    else if (row.verb === "get") tally.get += count;
    else if (row.verb === "list") tally.list += count;
    else if (row.verb === "watch") tally.watch += count;
    else if (WRITE_VERBS.includes(row.verb) && row.resource === "events") {
      tally.eventWrites += count;
    } else if (WRITE_VERBS.includes(row.verb)) tally.writes += count;
    else tally.other += count;
  }
  return tally;
}

/** `n.nn` with two decimals. */
function per(count: number, tenants: number): string {
  return (count / tenants).toFixed(2);
}

/**
 * Per tenant: `3.00 writes + 2.00 GET + 0.00 LIST`, then Event writes, watches, other requests
 * and conflicts when there were any.
 */
export function formatPerTenant(tally: RequestTally, tenants: number): string {
  const parts = [
    `${per(tally.writes, tenants)} writes`,
    `${per(tally.get, tenants)} GET`,
    `${per(tally.list, tenants)} LIST`,
  ];
  if (tally.eventWrites) parts.push(`${per(tally.eventWrites, tenants)} Event writes`);
  if (tally.watch + tally.other) parts.push(`${per(tally.watch + tally.other, tenants)} other`);
  const conflicts = tally.conflicts ? ` (${per(tally.conflicts, tenants)} conflicts)` : "";
  return parts.join(" + ") + conflicts;
}

/** Totals: `2,000 GET + 3,000 LIST + 5 WATCH + 3 other = 5,008 requests, 0 writes`. */
export function formatTotals(tally: RequestTally): string {
  const number = (n: number) => n.toLocaleString("en-US");
  const parts = [
    ["GET", tally.get],
    ["LIST", tally.list],
    ["WATCH", tally.watch],
    ["other", tally.other],
  ].filter(([, count]) => count).map(([label, count]) => `${number(count as number)} ${label}`);
  const writes = tally.writes + tally.eventWrites;
  const all = requestCount(tally);
  return `${parts.length ? `${parts.join(" + ")} = ` : ""}${number(all)} requests, ${
    number(writes)
  } writes${tally.eventWrites ? ` (${number(tally.eventWrites)} Event writes)` : ""}`;
}

/** Every request of `tally`. */
export function requestCount(tally: RequestTally): number {
  return tally.get + tally.list + tally.watch + tally.writes + tally.eventWrites + tally.other;
}
