// The field manager of the write paths: the type and reset fields a write is tracked with, the
// managedFields it starts from, the managedFields it leaves, and server-side apply requests.
import { schemaFieldType } from "../crd/field_types.ts";
import { badRequest, conflict, type ErrorTarget } from "../http/status.ts";
import { builtinType, type MapType } from "./field_types.ts";
import { KUBECTL_MANAGER, syncLastApplied, upgradableFields } from "./last_applied.ts";
import {
  type Applied,
  ApplyConflictError,
  decodeManagedFields,
  encodeManagedFields,
  isReset,
  ManagedFieldsError,
  type Managers,
  trackApply,
  type Tracking,
  trackUpdate,
} from "./managed_fields.ts";
import { deepEqual, meta, timestamp } from "./objects.ts";
import { groupVersion, type ResourceInfo, resourceKey } from "./resources.ts";
import type { KubeObject } from "../types.ts";

/** Who writes, and through which subresource. */
export interface FieldOwner {
  /** The field manager (`fieldManager`, else the user agent's product). */
  manager: string;
  /** `status` or `finalize` for writes through a subresource. */
  subresource?: string;
}

/** The field type of a resource's objects. */
export function objectFieldType(info: ResourceInfo): MapType {
  return info.schema ? schemaFieldType(info.schema) : builtinType(resourceKey(info));
}

/**
 * The top-level fields a write cannot change, so never owns (kube's reset fields): `status`
 * through the main resource of a kind with a status subresource, all but `status` through it.
 */
function ignoredFields(info: ResourceInfo, subresource?: string): (field: string) => boolean {
  if (subresource === "status") return (field) => field !== "status";
  if (subresource === "finalize") return (field) => field !== "spec";
  if (info.statusSubresource) return (field) => field === "status";
  return () => false;
}

function tracking(info: ResourceInfo, owner: FieldOwner): Tracking {
  return {
    type: objectFieldType(info),
    apiVersion: groupVersion(info),
    manager: owner.manager,
    subresource: owner.subresource,
    ignored: ignoredFields(info, owner.subresource),
    now: timestamp(),
  };
}

function decodeOrNone(entries: unknown): Managers {
  try {
    return decodeManagedFields(entries);
  } catch (error) {
    if (error instanceof ManagedFieldsError) return new Map();
    throw error;
  }
}

/** Decoded managedFields of stored objects (never mutated once stored, nor are these). */
const decodedLive = new WeakMap<KubeObject, Managers>();

function liveManagers(live: KubeObject | undefined): Managers {
  if (!live) return new Map();
  let managers = decodedLive.get(live);
  if (!managers) decodedLive.set(live, managers = decodeOrNone(live.metadata?.managedFields));
  return managers;
}

/**
 * The managers a write starts from, as kube picks them: none when the request clears them
 * (`managedFields: []`), the request's when they decode and are not empty, else the live ones.
 */
function startingManagers(requested: unknown, live: KubeObject | undefined): Managers {
  if (isReset(requested)) return new Map();
  if (requested === undefined || deepEqual(requested, live?.metadata?.managedFields)) {
    return liveManagers(live);
  }
  const fromRequest = decodeOrNone(requested);
  return fromRequest.size > 0 ? fromRequest : liveManagers(live);
}

/** Options of {@linkcode recordUpdate}. */
export interface RecordUpdateOptions extends FieldOwner {
  /** The managedFields the request carried (before the server dropped them from the object). */
  requested?: unknown;
}

/**
 * Sets `after.metadata.managedFields` for a create (`before` absent), update or patch by
 * `options.manager`. Like kube, an update of an object without managedFields (cleared with
 * `managedFields: []`) tracks nothing until the next apply.
 */
export function recordUpdate(
  info: ResourceInfo,
  before: KubeObject | undefined,
  after: KubeObject,
  options: RecordUpdateOptions,
): void {
  const managers = startingManagers(options.requested, before);
  if (before !== undefined && managers.size === 0) {
    delete meta(after).managedFields;
    return;
  }
  setManagedFields(after, trackUpdate(before, after, managers, tracking(info, options)));
}

function setManagedFields(object: KubeObject, managers: Managers): void {
  const entries = encodeManagedFields(managers);
  if (entries.length > 0) meta(object).managedFields = entries;
  else delete meta(object).managedFields;
  // The object is about to be stored as it is: its next write starts from these managers.
  decodedLive.set(object, managers);
}

/** Options of {@linkcode applyConfiguration}. */
export interface ApplyOptions extends FieldOwner {
  /** Take over fields other managers own instead of failing with a conflict. */
  force: boolean;
  /** The object's name and namespace from the URL. */
  name: string;
  namespace: string;
}

/**
 * Server-side apply of `config` onto `live` (absent when the object does not exist yet): the
 * object to write, managedFields included. Throws kube's 400s for a configuration it refuses,
 * 409 Conflict for a stale `metadata.resourceVersion` or fields other managers own.
 */
export function applyConfiguration(
  info: ResourceInfo,
  live: KubeObject | undefined,
  config: KubeObject,
  options: ApplyOptions,
): KubeObject {
  const apiVersion = groupVersion(info);
  if (config.apiVersion !== apiVersion) {
    throw badRequest(
      `Incorrect version specified in apply patch. Specified patch version: ${
        config.apiVersion ?? ""
      }, expected: ${apiVersion}`,
    );
  }
  if (config.kind !== info.kind) {
    throw badRequest(
      `Incorrect kind specified in apply patch. Specified patch kind: ${
        config.kind ?? ""
      }, expected: ${info.kind}`,
    );
  }
  if (config.metadata?.managedFields !== undefined) {
    throw badRequest("metadata.managedFields must be nil");
  }
  const name = config.metadata?.name;
  if (name !== undefined && name !== options.name) {
    throw badRequest(
      `the name of the object (${name}) does not match the name on the URL (${options.name})`,
    );
  }
  const namespace = config.metadata?.namespace;
  if (info.namespaced && namespace !== undefined && namespace !== options.namespace) {
    throw badRequest(
      "the namespace of the provided object does not match the namespace sent on the request",
    );
  }
  const rv = config.metadata?.resourceVersion;
  if (rv !== undefined && rv !== "" && rv !== live?.metadata?.resourceVersion) {
    const target: ErrorTarget = { group: info.group, resource: info.resource, name: options.name };
    throw conflict(target);
  }
  const managers = liveManagers(live);
  const settings = tracking(info, options);
  const apply = (force: boolean) => trackApply(live, config, managers, { ...settings, force });
  let applied: Applied;
  try {
    applied = apply(options.force);
  } catch (error) {
    // kubectl's first server-side apply takes over what its client-side applies set.
    const upgradable = live && options.manager === KUBECTL_MANAGER &&
      error instanceof ApplyConflictError && upgradableFields(live, settings.type);
    if (!upgradable) throw error;
    const remaining = (error as ApplyConflictError).without(upgradable);
    if (remaining) throw remaining;
    applied = apply(true);
  }
  const object = options.manager === KUBECTL_MANAGER
    ? syncLastApplied(applied.object, config)
    : applied.object;
  const result = structuredClone(object);
  setManagedFields(result, applied.managers);
  return result;
}
