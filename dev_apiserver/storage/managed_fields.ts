// metadata.managedFields as kube-apiserver keeps them: which manager owns which fields, updated on
// every write (operation Update) and by server-side apply (operation Apply), with kube's conflicts.
import { ApiError } from "../http/status.ts";
import { FieldSet, FieldSetError, pathString, type PathToken } from "./field_set.ts";
import type { MapType } from "./field_types.ts";
import { isObject } from "./objects.ts";
import { compare, type Comparison, fieldSetOf, isSame, merge, removeFields } from "./typed.ts";
import type { KubeObject } from "../types.ts";

/** One decoded managedFields entry. */
export interface ManagerEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  subresource?: string;
  /** RFC 3339; absent on an entry whose writes never changed the object. */
  time?: string;
  fields: FieldSet;
}

/** The entries by manager identifier (manager, operation, apiVersion for updates, subresource). */
export type Managers = Map<string, ManagerEntry>;

/** A managedFields entry as served. */
export interface ManagedFieldsEntry {
  manager: string;
  operation: string;
  apiVersion: string;
  time?: string;
  fieldsType: "FieldsV1";
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

/** The manager kube files the fields of objects that had none when first applied. */
export const BEFORE_FIRST_APPLY = "before-first-apply";
/** The manager the oldest updates are merged into beyond {@linkcode MAX_UPDATE_MANAGERS}. */
const ANCIENT_CHANGES = "ancient-changes";
/** kube's cap on Update entries. */
const MAX_UPDATE_MANAGERS = 10;

/** kube's manager identifier: the entry without fields and time (and apiVersion for Apply). */
function identifier(entry: Omit<ManagerEntry, "fields" | "time">): string {
  return JSON.stringify({
    manager: entry.manager,
    operation: entry.operation,
    ...(entry.operation === "Update" ? { apiVersion: entry.apiVersion } : {}),
    ...(entry.subresource ? { subresource: entry.subresource } : {}),
  });
}

/** Thrown for managedFields that cannot be decoded. */
export class ManagedFieldsError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "ManagedFieldsError";
  }
}

/**
 * True for the managedFields that ask to clear the tracking: an empty list, or one empty entry.
 */
export function isReset(entries: unknown): boolean {
  return Array.isArray(entries) &&
    (entries.length === 0 ||
      (entries.length === 1 && isObject(entries[0]) && Object.keys(entries[0]).length === 0));
}

/** Decodes managedFields (absent: none); throws {@linkcode ManagedFieldsError} as kube refuses them. */
export function decodeManagedFields(entries: unknown): Managers {
  const managers: Managers = new Map();
  if (entries === undefined || entries === null) return managers;
  if (!Array.isArray(entries)) throw new ManagedFieldsError("managedFields must be a list");
  entries.forEach((raw, i) => {
    if (!isObject(raw)) throw new ManagedFieldsError(`managed fields entry ${i} is not an object`);
    const { manager, operation, apiVersion, subresource, time, fieldsType, fieldsV1 } = raw;
    if (operation !== "Apply" && operation !== "Update") {
      throw new ManagedFieldsError("operation must be `Apply` or `Update`");
    }
    if (typeof apiVersion !== "string" || apiVersion === "") {
      throw new ManagedFieldsError("apiVersion must not be empty");
    }
    if (fieldsType !== "FieldsV1") {
      throw new ManagedFieldsError(
        fieldsType === undefined
          ? `missing fieldsType in managed fields entry ${i}`
          : `invalid fieldsType ${JSON.stringify(fieldsType)} in managed fields entry ${i}`,
      );
    }
    let fields: FieldSet;
    try {
      fields = FieldSet.fromFieldsV1(fieldsV1 ?? {});
    } catch (error) {
      if (error instanceof FieldSetError) throw new ManagedFieldsError(error.message);
      throw error;
    }
    const entry: ManagerEntry = {
      manager: typeof manager === "string" ? manager : "",
      operation,
      apiVersion,
      subresource: typeof subresource === "string" && subresource ? subresource : undefined,
      time: typeof time === "string" ? time : undefined,
      fields,
    };
    managers.set(identifier(entry), entry);
  });
  return managers;
}

function seconds(time: string | undefined): number {
  return time === undefined ? 0 : Math.floor(Date.parse(time) / 1000);
}

/** Encodes the managers as kube serves them, sorted (Apply first, then by time, manager, version). */
export function encodeManagedFields(managers: Managers): ManagedFieldsEntry[] {
  const entries = [...managers.values()].filter((entry) => !entry.fields.isEmpty());
  entries.sort((p, q) =>
    p.operation !== q.operation
      ? (p.operation < q.operation ? -1 : 1)
      : seconds(p.time) - seconds(q.time) ||
        compareText(p.manager, q.manager) ||
        compareText(p.apiVersion, q.apiVersion) ||
        compareText(p.subresource ?? "", q.subresource ?? "")
  );
  return entries.map((entry) => ({
    manager: entry.manager,
    operation: entry.operation,
    apiVersion: entry.apiVersion,
    ...(entry.time ? { time: entry.time } : {}),
    fieldsType: "FieldsV1",
    fieldsV1: entry.fields.toFieldsV1(),
    ...(entry.subresource ? { subresource: entry.subresource } : {}),
  }));
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What kube never files under a manager: type and identity metadata the server owns. */
const STRIPPED: FieldSet = (() => {
  const set = new FieldSet();
  set.insert(["f:apiVersion"]);
  set.insert(["f:kind"]);
  set.insert(["f:metadata"]);
  for (
    const field of [
      "name",
      "namespace",
      "creationTimestamp",
      "selfLink",
      "uid",
      "clusterName",
      "generation",
      "managedFields",
      "resourceVersion",
    ]
  ) set.insert(["f:metadata", `f:${field}`]);
  return set;
})();

/** How one write is tracked. */
export interface Tracking {
  /** The object's type. */
  type: MapType;
  /** The request's group/version (`v1`, `kleff.kleff.io/v1`). */
  apiVersion: string;
  /** The field manager. */
  manager: string;
  /** `status` for writes through the status subresource. */
  subresource?: string;
  /** Top-level fields the write cannot change (kube's reset fields): never owned. */
  ignored: (field: string) => boolean;
  /** The time to stamp on entries whose fields changed. */
  now: string;
}

/** The object as tracking sees it: without managedFields and without the ignored fields. */
function view(object: KubeObject | undefined, tracking: Tracking): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object ?? {})) {
    if (tracking.ignored(key)) continue;
    if (key === "metadata" && isObject(value)) {
      const { managedFields: _, ...metadata } = value;
      out[key] = metadata;
    } else {
      out[key] = value;
    }
  }
  return out;
}

function copy(managers: Managers): Managers {
  return new Map([...managers].map(([id, entry]) => [id, { ...entry }]));
}

/** Takes fields changed by `comparison` from every manager but `except`; returns what it took. */
function takeChanged(managers: Managers, comparison: Comparison, except?: string): Managers {
  const changed = comparison.modified.union(comparison.added);
  const taken: Managers = new Map();
  for (const [id, entry] of managers) {
    if (id === except) continue;
    const conflicts = entry.fields.intersection(changed);
    if (!conflicts.isEmpty()) taken.set(id, { ...entry, fields: conflicts });
    entry.fields = entry.fields.difference(conflicts).difference(comparison.removed);
  }
  return taken;
}

/** Merges the oldest Update entries into `ancient-changes` ones beyond kube's cap of ten. */
function capUpdateManagers(managers: Managers): void {
  const updaters = [...managers].filter(([, entry]) => entry.operation === "Update");
  if (updaters.length <= MAX_UPDATE_MANAGERS) return;
  updaters.sort(([ia, a], [ib, b]) => seconds(a.time) - seconds(b.time) || compareText(ia, ib));
  const firstByVersion = new Map<string, string>();
  let count = updaters.length;
  for (const [id, entry] of updaters) {
    if (count <= MAX_UPDATE_MANAGERS) break;
    const bucket = identifier({
      manager: ANCIENT_CHANGES,
      operation: "Update",
      apiVersion: entry.apiVersion,
    });
    const first = firstByVersion.get(entry.apiVersion);
    if (first === undefined) {
      firstByVersion.set(entry.apiVersion, id);
      continue;
    }
    if (!managers.has(bucket)) {
      const moved = managers.get(first)!;
      managers.delete(first);
      managers.set(bucket, { ...moved, manager: ANCIENT_CHANGES, subresource: undefined });
    }
    const merged = managers.get(bucket)!;
    managers.set(bucket, {
      ...merged,
      fields: merged.fields.union(entry.fields),
      time: entry.time,
    });
    managers.delete(id);
    count--;
  }
}

function dropEmpty(managers: Managers): void {
  for (const [id, entry] of managers) if (entry.fields.isEmpty()) managers.delete(id);
}

/**
 * The managers after a create, update or patch (operation Update) turned `before` (absent for a
 * create) into `after`: fields that changed move to the writing manager, removed fields leave
 * every manager.
 */
export function trackUpdate(
  before: KubeObject | undefined,
  after: KubeObject,
  managers: Managers,
  tracking: Tracking,
): Managers {
  const out = copy(managers);
  const comparison = compare(view(before, tracking), view(after, tracking), tracking.type);
  takeChanged(out, comparison);
  const own = comparison.modified.union(comparison.added).difference(STRIPPED);
  if (!own.isEmpty()) {
    const entry = {
      manager: tracking.manager,
      operation: "Update" as const,
      apiVersion: tracking.apiVersion,
      subresource: tracking.subresource,
    };
    const id = identifier(entry);
    const previous = out.get(id)?.fields;
    out.set(id, { ...entry, time: tracking.now, fields: previous ? previous.union(own) : own });
  }
  dropEmpty(out);
  capUpdateManagers(out);
  return out;
}

/** The 409 Conflict of an apply that would change fields other managers own, worded as kube does. */
export class ApplyConflictError extends ApiError {
  /** The conflicting fields by manager identifier. */
  readonly conflicts: Managers;

  /** Builds the error from the conflicting fields of each manager. */
  constructor(conflicts: Managers) {
    const ids = [...conflicts.keys()].sort();
    const found: { manager: string; path: PathToken[] }[] = [];
    for (const id of ids) {
      const entry = conflicts.get(id)!;
      for (const path of entry.fields.paths()) found.push({ manager: describe(entry), path });
    }
    const causes = found.map(({ manager, path }) => ({
      reason: "FieldManagerConflict",
      message: `conflict with ${manager}`,
      field: pathString(path),
    }));
    let message: string;
    if (found.length === 1) {
      message = `Apply failed with 1 conflict: conflict with ${found[0].manager}: ${
        causes[0].field
      }`;
    } else {
      const lines: string[] = [];
      for (const id of ids) {
        const entry = conflicts.get(id)!;
        lines.push(`conflicts with ${describe(entry)}:`);
        for (const path of entry.fields.paths()) lines.push(`- ${pathString(path)}`);
      }
      message = `Apply failed with ${found.length} conflicts: ${lines.join("\n")}`;
    }
    super(409, "Conflict", message, { causes });
    this.name = "ApplyConflictError";
    this.conflicts = conflicts;
  }

  /** The conflicts outside `allowed`, as an error; undefined when none is left. */
  without(allowed: FieldSet): ApplyConflictError | undefined {
    const rest: Managers = new Map();
    for (const [id, entry] of this.conflicts) {
      const fields = entry.fields.difference(allowed);
      if (!fields.isEmpty()) rest.set(id, { ...entry, fields });
    }
    return rest.size > 0 ? new ApplyConflictError(rest) : undefined;
  }
}

/** A manager as kube names it in conflicts: `"name"`, `"name" with subresource "status" using v1`. */
function describe(entry: ManagerEntry): string {
  let text = JSON.stringify(entry.manager);
  if (entry.subresource) text += ` with subresource ${JSON.stringify(entry.subresource)}`;
  if (entry.operation === "Update") text += ` using ${entry.apiVersion}`;
  return text;
}

/** The result of an apply. */
export interface Applied {
  /** The object to store (the live one, unchanged, when the apply changes nothing). */
  object: KubeObject;
  managers: Managers;
}

/**
 * Server-side apply of `config` by `tracking.manager` onto `live` (absent: the object is created):
 * merge, prune what the manager applied before and no longer does (unless another manager owns
 * it), then hand the applied fields to the manager; fields another manager set differently are a
 * 409 Conflict unless `force`, which takes them over.
 */
export function trackApply(
  live: KubeObject | undefined,
  config: KubeObject,
  managers: Managers,
  tracking: Tracking & { force: boolean },
): Applied {
  let out = copy(managers);
  if (live && out.size === 0) {
    out = trackUpdate(undefined, live, out, { ...tracking, manager: BEFORE_FIRST_APPLY });
  }
  const entry = {
    manager: tracking.manager,
    operation: "Apply" as const,
    apiVersion: tracking.apiVersion,
    subresource: tracking.subresource,
  };
  const id = identifier(entry);
  const last = out.get(id);
  const applied = fieldSetOf(view(config, tracking), tracking.type);
  out.set(id, { ...entry, time: last?.time, fields: applied });
  let merged = merge(live ?? {}, config, tracking.type) as KubeObject;
  if (last) {
    let owned = new FieldSet();
    for (const manager of out.values()) owned = owned.union(manager.fields);
    const orphaned = fieldSetOf(merged, tracking.type).intersection(last.fields).difference(owned);
    merged = (removeFields(merged, orphaned, tracking.type) ?? {}) as KubeObject;
  }
  const comparison = compare(view(live, tracking), view(merged, tracking), tracking.type);
  const conflicts = takeChanged(out, comparison, id);
  if (!tracking.force && conflicts.size > 0) throw new ApplyConflictError(conflicts);
  const own = out.get(id)!;
  own.fields = own.fields.difference(STRIPPED);
  own.time = tracking.now;
  dropEmpty(out);
  capUpdateManagers(out);
  // Like kube, an apply that changes nothing but timestamps leaves the object alone.
  if (live && isSame(comparison) && sameButTimes(out, managers)) return { object: live, managers };
  return { object: merged, managers: out };
}

function sameButTimes(a: Managers, b: Managers): boolean {
  const untimed = (managers: Managers) =>
    JSON.stringify(encodeManagedFields(managers).map(({ time: _, ...entry }) => entry));
  return untimed(a) === untimed(b);
}
