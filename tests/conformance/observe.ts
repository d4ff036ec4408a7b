// What a conformance scenario records of each answer, made comparable between servers: what
// legitimately differs (uids, timestamps, resourceVersion values, continue tokens) is replaced by
// placeholders, and two recordings are compared field by field.
import type { ApiResponse, WatchResult } from "./api.ts";

/** One recorded step: the status and what the scenario chose to look at. */
export interface Observation {
  step: string;
  value: unknown;
}

/** Records observations of one scenario run. */
export class Recorder {
  readonly observations: Observation[] = [];

  /** Records `value` (normalised) as step `step`. */
  record(step: string, value: unknown): void {
    this.observations.push({ step, value: normalize(value) });
  }

  /** Records an answer's status code and the default view of its body (or `view` of it). */
  response(
    step: string,
    response: ApiResponse,
    view: (body: Body) => unknown = defaultView,
  ): void {
    this.record(step, { status: response.status, body: view(response.body as Body) });
  }

  /** Records a watch: its status, whether the server ended it, and each event's view. */
  watch(
    step: string,
    result: WatchResult,
    view: (event: { type: string; object: Body }) => unknown = eventView,
  ): void {
    this.record(step, {
      status: result.status,
      body: result.body === undefined ? undefined : defaultView(result.body as Body),
      events: result.events.map((event) => view(event as { type: string; object: Body })),
    });
  }
}

/** A JSON body as the views read it. */
// deno-lint-ignore no-explicit-any
export type Body = any;

const UID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g;

/** Replaces what differs between any two servers by placeholders. */
export function normalize(value: unknown, key?: string): unknown {
  if (typeof value === "string") {
    if (key === "resourceVersion") return "<rv>";
    if (key === "continue") return value === "" ? "" : "<continue>";
    return value.replace(UID, "<uid>").replace(TIME, "<time>");
  }
  if (Array.isArray(value)) return value.map((item) => normalize(item));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).filter(([k]) => k !== "managedFields" && k !== "selfLink")
        .map(([k, v]) => [k, normalize(v, k)]),
    );
  }
  return value;
}

/** The parts of an object's metadata that are not server noise. */
export function metadataView(metadata: Body): unknown {
  if (!metadata) return undefined;
  return {
    name: metadata.name,
    namespace: metadata.namespace,
    labels: metadata.labels,
    annotations: metadata.annotations,
    finalizers: metadata.finalizers,
    generation: metadata.generation,
    deletionTimestamp: metadata.deletionTimestamp === undefined ? undefined : "set",
    deletionGracePeriodSeconds: metadata.deletionGracePeriodSeconds,
    ownerReferences: metadata.ownerReferences,
  };
}

/** An object, a list or a Status, as most steps look at it. */
export function defaultView(body: Body): unknown {
  if (!body || typeof body !== "object") return body;
  if (body.kind === "Status") {
    return {
      kind: body.kind,
      apiVersion: body.apiVersion,
      status: body.status,
      reason: body.reason,
      message: body.message,
      code: body.code,
      details: body.details,
      continue: body.metadata?.continue,
    };
  }
  if (Array.isArray(body.items)) {
    return {
      kind: body.kind,
      apiVersion: body.apiVersion,
      items: body.items.map((item: Body) => item.metadata?.name),
      resourceVersion: body.metadata?.resourceVersion,
      continue: body.metadata?.continue,
      remainingItemCount: body.metadata?.remainingItemCount,
    };
  }
  return {
    kind: body.kind,
    apiVersion: body.apiVersion,
    metadata: metadataView(body.metadata),
    spec: body.spec,
    data: body.data,
    status: body.status,
  };
}

/** A watch event: its type, and its object's kind, name and data (a Status in full). */
export function eventView(event: { type: string; object: Body }): unknown {
  const object = event.object ?? {};
  if (object.kind === "Status") return { type: event.type, object: defaultView(object) };
  return {
    type: event.type,
    kind: object.kind,
    name: object.metadata?.name,
    labels: object.metadata?.labels,
    data: object.data,
  };
}

/** One field that differs between the two servers' recordings. */
export interface Difference {
  step: string;
  /** JSON path inside the step's value, e.g. `body.details.kind`. */
  path: string;
  dev: unknown;
  real: unknown;
}

/** The fields in which two recordings of one scenario differ. */
export function compare(dev: Observation[], real: Observation[]): Difference[] {
  const differences: Difference[] = [];
  const steps = new Set([...dev, ...real].map((observation) => observation.step));
  for (const step of steps) {
    const a = dev.find((observation) => observation.step === step);
    const b = real.find((observation) => observation.step === step);
    diff(step, "", a?.value, b?.value, differences);
  }
  return differences;
}

function diff(step: string, path: string, dev: unknown, real: unknown, out: Difference[]): void {
  if (JSON.stringify(dev) === JSON.stringify(real)) return;
  const bothObjects = dev && real && typeof dev === "object" && typeof real === "object" &&
    Array.isArray(dev) === Array.isArray(real);
  if (
    bothObjects && !(Array.isArray(dev) && (dev as unknown[]).length !== (real as unknown[]).length)
  ) {
    const keys = new Set([...Object.keys(dev as object), ...Object.keys(real as object)]);
    for (const key of keys) {
      const next = path ? `${path}.${key}` : key;
      diff(
        step,
        next,
        (dev as Record<string, unknown>)[key],
        (real as Record<string, unknown>)[key],
        out,
      );
    }
    return;
  }
  out.push({ step, path, dev, real });
}
