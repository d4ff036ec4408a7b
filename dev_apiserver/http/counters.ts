// Request counters by verb, resource and status code, for tests that assert what a client sent.
import type { Verb } from "../types.ts";

/** How many requests had one verb, resource and status code. */
export interface RequestCount {
  verb: Verb | string;
  resource: string;
  code: number;
  count: number;
}

/** Reads and resets request counts. */
export interface Counters {
  /** Requests matching every given field. */
  count(match?: { verb?: Verb; resource?: string; code?: number }): number;
  /** Every (verb, resource, code) with its count. */
  snapshot(): RequestCount[];
  /** Forgets all counts. */
  reset(): void;
}

/** The server's counters; `record` is called once per request. */
export class RequestCounters implements Counters {
  #counts = new Map<string, RequestCount>();

  /** Counts one request. Resources are plurals, "plural/subresource", or the path of non-resource URLs. */
  record(verb: string, resource: string, code: number): void {
    const key = `${verb} ${resource} ${code}`;
    const entry = this.#counts.get(key);
    if (entry) entry.count++;
    else this.#counts.set(key, { verb, resource, code, count: 1 });
  }

  /** Requests matching every given field. */
  count(match: { verb?: Verb; resource?: string; code?: number } = {}): number {
    let total = 0;
    for (const c of this.#counts.values()) {
      if (match.verb !== undefined && c.verb !== match.verb) continue;
      if (match.resource !== undefined && c.resource !== match.resource) continue;
      if (match.code !== undefined && c.code !== match.code) continue;
      total += c.count;
    }
    return total;
  }

  /** Every (verb, resource, code) with its count. */
  snapshot(): RequestCount[] {
    return [...this.#counts.values()].map((c) => ({ ...c }));
  }

  /** Forgets all counts. */
  reset(): void {
    this.#counts.clear();
  }
}
