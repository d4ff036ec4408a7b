// The /_dev/ HTTP endpoints: fault injection and counters for out-of-process tests (no auth, never faulted).
import type { RequestCounters } from "./counters.ts";
import type { FaultInjector, FaultRule, Trickle, WatchCorruption } from "./faults.ts";
import { ApiError, badRequest, statusResponse, unknownPath } from "./status.ts";
import type { Verb } from "../types.ts";

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json" },
  });
}

async function body<T>(request: Request): Promise<T> {
  const text = await request.text();
  try {
    const value = JSON.parse(text === "" ? "{}" : text);
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new Error("not an object");
    }
    return value as T;
  } catch (error) {
    throw badRequest(`invalid JSON body: ${(error as Error).message}`);
  }
}

/** Options of {@linkcode handleDev}. */
export interface DevEndpointOptions {
  /** The fault injector the fault, latency, watch and compaction endpoints drive. */
  faults: FaultInjector;
  /** The request counters the counter endpoints read and reset. */
  counters: RequestCounters;
}

/** Answers a request under `/_dev/` (`path`: the request's path). */
export async function handleDev(
  request: Request,
  path: string,
  options: DevEndpointOptions,
): Promise<Response> {
  const { faults, counters } = options;
  try {
    const route = `${request.method} ${path}`;
    switch (route) {
      case "POST /_dev/faults":
        try {
          faults.failNext(await body<FaultRule>(request));
        } catch (error) {
          if (error instanceof RangeError) throw badRequest(error.message);
          throw error;
        }
        return json({ ok: true }, 201);
      case "DELETE /_dev/faults":
        faults.clear();
        return json({ ok: true });
      case "POST /_dev/latency": {
        const { ms, verb, resource } = await body<{ ms?: number; verb?: Verb; resource?: string }>(
          request,
        );
        if (typeof ms !== "number" || !Number.isFinite(ms)) {
          throw badRequest("latency needs a numeric ms");
        }
        faults.setLatency(ms, { verb, resource });
        return json({ ok: true });
      }
      case "POST /_dev/watches/drop":
        return json({ dropped: faults.dropWatches() });
      case "POST /_dev/watches/stall": {
        const { stalled } = await body<{ stalled?: boolean }>(request);
        faults.stallWatches(stalled !== false);
        return json({ ok: true });
      }
      case "POST /_dev/watches/corrupt":
        try {
          faults.corruptWatchEvents(await body<WatchCorruption>(request));
        } catch (error) {
          if (error instanceof RangeError) throw badRequest(error.message);
          throw error;
        }
        return json({ ok: true }, 201);
      case "POST /_dev/trickle": {
        const trickle = await body<Partial<Trickle>>(request);
        try {
          faults.setTrickle(
            trickle.bytesPerSecond === undefined ? undefined : trickle as Trickle,
          );
        } catch (error) {
          if (error instanceof RangeError) throw badRequest(error.message);
          throw error;
        }
        return json({ ok: true });
      }
      case "POST /_dev/compact":
        faults.compact();
        return json({ ok: true });
      case "GET /_dev/counters":
        return json(counters.snapshot());
      case "DELETE /_dev/counters":
        counters.reset();
        return json({ ok: true });
    }
    await request.body?.cancel();
    throw unknownPath();
  } catch (error) {
    if (error instanceof ApiError) return statusResponse(error);
    throw error;
  }
}
