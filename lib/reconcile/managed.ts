// Per-tenant objects other than the namespace (quota, limits, isolation, Istio, Gatekeeper), as one
// generic rule: create what is missing, restore what drifted with a patch touching only what the
// operator manages, delete what the plan no longer asks for, and never touch what is not ours.
// Slightly above the usual size: the rule's parts (reading, ownership, sync, the step it makes)
// are one contract and read best together.
import type { ResourceDescriptor } from "../api/mod.ts";
import type { KubeObject } from "../api/mod.ts";
import {
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  OBJECT_NAME_PREFIX,
  Reason,
  TENANT_LABEL,
  TENANT_UID_ANNOTATION,
} from "../api/mod.ts";
import type { Action, MergePatch, TenantEvent } from "./actions.ts";
import { type ConditionInput, statusEqual } from "./conditions.ts";
import { observationKey } from "./context.ts";
import { metadataPatch, type MetadataView, readStringMap } from "./metadata_patch.ts";
import { ownedContentOf, type OwnedShape, ownedShape } from "./owned_content.ts";
import { isRecord, type TenantView } from "./spec.ts";

/** An object a plan asks for. */
export interface DesiredObject {
  /** Its kind. */
  resource: ResourceDescriptor;
  /** Its complete body (metadata with name, namespace, labels and annotations; spec). */
  object: KubeObject;
  /** The `spec` fields the operator owns: compared, and replaced as a whole on drift. */
  specFields: readonly string[];
  /** Brings a spec to a comparable form (server defaults, normalised quantities). */
  normalize?: (spec: Record<string, unknown>) => Record<string, unknown>;
}

/** What decisions need to know about an observed per-tenant object. */
export interface ObjectView extends MetadataView {
  /** `metadata.name`. */
  name: string;
  /** `metadata.namespace` ("" for cluster-scoped objects). */
  namespace: string;
  /** `metadata.uid` (delete precondition). */
  uid: string;
  /** Whether `deletionTimestamp` is set. */
  deleting: boolean;
  /** `spec`, `{}` when missing. */
  spec: Record<string, unknown>;
}

/** Objects of one kind as observed (a LIST's items). */
export interface ObservedKind {
  /** The kind listed. */
  resource: ResourceDescriptor;
  /** The items, untyped as the API server sent them. */
  items: unknown[];
}

/** The outcome of {@linkcode syncObjects}. */
export interface SyncResult {
  /** The objects wanted (the `desired` given). */
  desired: readonly DesiredObject[];
  /** Creates, patches and deletes, in order. */
  actions: Action[];
  /** What was done, for Events: `created ResourceQuota kleff-quota`. */
  changes: string[];
  /** Cluster-scoped objects with our names that are not ours (never adopted or deleted). */
  conflicts: string[];
  /** Objects of ours being deleted: recreated once gone. */
  terminating: string[];
}

/** An observed object with its kind. */
export interface KindedObject {
  /** Its kind. */
  resource: ResourceDescriptor;
  /** The object as read. */
  object: ObjectView;
}

/** The outcome of a per-plan step (resources or policies). */
export interface PlanStep {
  /** Writes. */
  actions: Action[];
  /** The step's condition. */
  condition: ConditionInput;
  /** Events of the writes. */
  events: TenantEvent[];
  /** Seconds until a look again (objects of ours being deleted), if any. */
  requeueSeconds?: number;
  /** The objects the step wants in place (whether or not they are). */
  desired: readonly DesiredObject[];
}

/** Seconds until an object of ours that is being deleted is looked at again. */
const OBJECT_TERMINATING_REQUEUE_SECONDS = 5;

/** Reads a per-tenant object from untyped JSON; `undefined` for anything without a name. */
export function readObject(raw: unknown): ObjectView | undefined {
  if (!isRecord(raw) || !isRecord(raw.metadata)) return undefined;
  const metadata = raw.metadata;
  if (typeof metadata.name !== "string" || metadata.name === "") return undefined;
  return {
    name: metadata.name,
    namespace: typeof metadata.namespace === "string" ? metadata.namespace : "",
    uid: typeof metadata.uid === "string" ? metadata.uid : "",
    resourceVersion: typeof metadata.resourceVersion === "string"
      ? metadata.resourceVersion
      : undefined,
    labels: readStringMap(metadata.labels),
    annotations: readStringMap(metadata.annotations),
    deleting: metadata.deletionTimestamp !== undefined && metadata.deletionTimestamp !== null,
    spec: isRecord(raw.spec) ? raw.spec : {},
  };
}

/** The labels every per-tenant object carries. */
export function ownedLabels(tenant: TenantView): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [TENANT_LABEL]: tenant.name };
}

/** Options of {@linkcode ownedMetadata}. */
export interface OwnedMetadataOptions {
  /** The object's namespace; omitted for cluster-scoped objects. */
  namespace?: string;
}

/**
 * The metadata of a per-tenant object named `name`: name, namespace (when given), managed labels,
 * ownership annotation.
 */
export function ownedMetadata(
  tenant: TenantView,
  name: string,
  options: OwnedMetadataOptions = {},
): KubeObject["metadata"] {
  const { namespace } = options;
  return {
    name,
    ...(namespace === undefined ? {} : { namespace }),
    labels: ownedLabels(tenant),
    annotations: { [TENANT_UID_ANNOTATION]: tenant.uid },
  };
}

/**
 * Whether `object` (a per-tenant object or a namespace) carries this tenant's ownership
 * annotation, and a uid to delete it by.
 */
export function isOwned(
  object: Pick<ObjectView, "annotations" | "uid">,
  tenant: Pick<TenantView, "uid">,
): boolean {
  return object.annotations[TENANT_UID_ANNOTATION] === tenant.uid && object.uid !== "";
}

/**
 * Whether `object` is one the operator made for this tenant and may delete when no longer
 * wanted: our annotation, our tenant label and one of our names.
 */
export function isPrunable(
  object: Pick<ObjectView, "annotations" | "uid" | "labels" | "name">,
  tenant: Pick<TenantView, "uid" | "name">,
): boolean {
  return isOwned(object, tenant) && object.labels[TENANT_LABEL] === tenant.name &&
    object.name.startsWith(OBJECT_NAME_PREFIX);
}

/**
 * What `raw` (an object as the API server sent it, or a desired one) holds of `shape`, in
 * canonical form (see {@linkcode ownedContentOf}).
 */
export function ownedContent(shape: OwnedShape, raw: unknown): string {
  return ownedContentOf(shape, readObject(raw) ?? { labels: {}, annotations: {}, spec: {} });
}

/** The observed objects, read once: by observation key, then by name (the first one wins). */
function indexObserved(observed: readonly ObservedKind[]): Map<string, Map<string, ObjectView>> {
  const index = new Map<string, Map<string, ObjectView>>();
  for (const kind of observed) {
    const key = observationKey(kind.resource);
    let byName = index.get(key);
    if (byName === undefined) index.set(key, byName = new Map());
    for (const item of kind.items) {
      const object = readObject(item);
      if (object !== undefined && !byName.has(object.name)) byName.set(object.name, object);
    }
  }
  return index;
}

/** Every observed object carrying this tenant's ownership annotation (see {@linkcode isOwned}). */
export function ownedObjects(
  observed: readonly ObservedKind[],
  tenant: TenantView,
): KindedObject[] {
  return observed.flatMap((kind) =>
    kind.items.flatMap((item) => {
      const object = readObject(item);
      return object !== undefined && isOwned(object, tenant)
        ? [{ resource: kind.resource, object }]
        : [];
    })
  );
}

/** `Kind name` or `Kind namespace/name`, for messages. */
export function describeObject(resource: ResourceDescriptor, name: string): string {
  return `${resource.kind} ${name}`;
}

/** Options of {@linkcode syncObjects}. */
export interface SyncObjectsOptions {
  /** The objects as observed (LISTs of the desired and prunable kinds). */
  observed: readonly ObservedKind[];
  /** The kinds whose undesired objects of ours are deleted. */
  prune: readonly ResourceDescriptor[];
}

/**
 * Makes the observed objects (`options.observed`) equal to `desired`: creates missing ones,
 * patches drifted ones (managed labels, annotation, owned spec fields), and, for each kind in
 * `options.prune`, deletes objects of ours (see {@linkcode isPrunable}) that are not desired.
 * Called only for a namespace the tenant owns (ARCHITECTURE.md §4): there, an object with a
 * desired name is the operator's whoever created or last touched it, so one stripped of its
 * labels and annotation, or created first by someone else under that name, is put back like any
 * drift. A cluster-scoped object with a desired name that does not carry this tenant's annotation
 * is reported as a conflict and left alone (nothing outside the tenant's namespace is adopted).
 */
export function syncObjects(
  tenant: TenantView,
  desired: readonly DesiredObject[],
  options: SyncObjectsOptions,
): SyncResult {
  const { prune } = options;
  const observed = indexObserved(options.observed);
  const result: SyncResult = { desired, actions: [], changes: [], conflicts: [], terminating: [] };
  const wanted = new Set<string>();
  for (const item of desired) {
    const name = item.object.metadata?.name ?? "";
    const namespace = item.object.metadata?.namespace;
    const key = observationKey(item.resource);
    wanted.add(`${key}/${name}`);
    const what = describeObject(item.resource, name);
    const current = observed.get(key)?.get(name);
    if (current === undefined) {
      result.actions.push({
        kind: "create",
        resource: item.resource,
        namespace,
        object: item.object,
      });
      result.changes.push(`created ${what}`);
    } else if (!item.resource.namespaced && !isOwned(current, tenant)) {
      result.conflicts.push(
        `${what} exists without the ${TENANT_UID_ANNOTATION} annotation of this tenant; it is never adopted or deleted`,
      );
    } else if (current.deleting) {
      result.terminating.push(what);
    } else {
      const patch = objectPatch(item, current);
      if (patch !== undefined) {
        result.actions.push(patchAction(item.resource, current, { patch }));
        result.changes.push(
          isOwned(current, tenant)
            ? `restored ${what}`
            : `took back ${what} (it lacked this tenant's ${TENANT_UID_ANNOTATION} annotation)`,
        );
      }
    }
  }
  for (const resource of prune) {
    const key = observationKey(resource);
    for (const object of observed.get(key)?.values() ?? []) {
      if (wanted.has(`${key}/${object.name}`)) continue;
      if (!isPrunable(object, tenant) || object.deleting) continue;
      result.actions.push(deleteAction(resource, object));
      result.changes.push(`deleted ${describeObject(resource, object.name)}`);
    }
  }
  return result;
}

/** An observed object as actions name it (a namespace has no `namespace`). */
export type ObjectTarget = Pick<ObjectView, "name" | "uid" | "resourceVersion"> & {
  namespace?: string;
};

/** The action deleting `object` (of kind `resource`), locked to its uid and resourceVersion. */
export function deleteAction(resource: ResourceDescriptor, object: ObjectTarget): Action {
  return {
    kind: "delete",
    resource,
    ...(resource.namespaced ? { namespace: object.namespace } : {}),
    name: object.name,
    preconditions: object.resourceVersion === undefined
      ? { uid: object.uid }
      : { uid: object.uid, resourceVersion: object.resourceVersion },
  };
}

/** Options of {@linkcode patchAction}. */
export interface PatchActionOptions {
  /** The merge patch. */
  patch: MergePatch;
}

/** The action applying `options.patch` to `object` (of kind `resource`). */
export function patchAction(
  resource: ResourceDescriptor,
  object: ObjectTarget,
  options: PatchActionOptions,
): Action {
  return {
    kind: "patch",
    resource,
    ...(resource.namespaced ? { namespace: object.namespace } : {}),
    name: object.name,
    patch: options.patch,
  };
}

/**
 * The condition `type` of a step whose objects cannot all be in place: an object with our name
 * that is not ours (ObjectConflict), then `options.invalid` problems (InvalidSpec), then objects
 * of ours still being deleted (ObjectTerminating); `undefined` when none applies.
 */
export function blockedCondition(
  type: string,
  sync: SyncResult,
  options: { invalid?: readonly string[] } = {},
): ConditionInput | undefined {
  const invalid = options.invalid ?? [];
  if (sync.conflicts.length > 0) {
    return {
      type,
      status: "False",
      reason: Reason.ObjectConflict,
      message: sync.conflicts.join("; "),
    };
  }
  if (invalid.length > 0) {
    return { type, status: "False", reason: Reason.InvalidSpec, message: invalid.join("; ") };
  }
  if (sync.terminating.length > 0) {
    return {
      type,
      status: "False",
      reason: Reason.ObjectTerminating,
      message: `waiting for ${sync.terminating.join(", ")} to be deleted before recreating it`,
    };
  }
  return undefined;
}

/** Options of {@linkcode syncedStep}. */
export interface SyncedStepOptions {
  /** The step's condition. */
  condition: ConditionInput;
  /** The reason of the Normal Event naming the changes, e.g. `ResourcesSynced`. */
  reason: string;
  /** How that Event's message ends, e.g. `in namespace ns-1`. */
  where: string;
}

/**
 * The step of a {@linkcode syncObjects} result: its actions, `options.condition`, one Normal Event
 * naming what changed (if anything did), and a requeue while objects of ours are being deleted.
 */
export function syncedStep(sync: SyncResult, options: SyncedStepOptions): PlanStep {
  return {
    actions: sync.actions,
    condition: options.condition,
    events: sync.changes.length === 0 ? [] : [{
      type: "Normal",
      reason: options.reason,
      message: `${sync.changes.join("; ")} ${options.where}`,
    }],
    ...(sync.terminating.length > 0 ? { requeueSeconds: OBJECT_TERMINATING_REQUEUE_SECONDS } : {}),
    desired: sync.desired,
  };
}

/**
 * The merge patch restoring an owned object: differing managed labels and annotation, and every
 * owned spec field whose normalised value differs, replaced as a whole (keys we did not ask for
 * inside it are removed). `undefined` when nothing differs: when the two agree on their
 * {@linkcode ownedContent}, the one comparison restarts and resyncs make too.
 */
function objectPatch(item: DesiredObject, current: ObjectView): MergePatch | undefined {
  const shape = ownedShape(item);
  if (ownedContentOf(shape, current) === ownedContent(shape, item.object)) return undefined;
  const metadata = item.object.metadata ?? {};
  const meta = metadataPatch(current, {
    labels: metadata.labels ?? {},
    annotations: metadata.annotations ?? {},
  });
  const wantedSpec = isRecord(item.object.spec) ? item.object.spec : {};
  const normalize = item.normalize ?? ((spec: Record<string, unknown>) => spec);
  const want = normalize(wantedSpec);
  const have = normalize(current.spec);
  const spec: Record<string, unknown> = {};
  for (const field of item.specFields) {
    if (!statusEqual(want[field], have[field])) {
      spec[field] = replacement(wantedSpec[field], current.spec[field]);
    }
  }
  if (meta === undefined && Object.keys(spec).length === 0) return undefined;
  const patch: MergePatch = meta ?? {
    metadata: current.resourceVersion === undefined
      ? {}
      : { resourceVersion: current.resourceVersion },
  };
  if (Object.keys(spec).length > 0) patch.spec = spec;
  return patch;
}

/** A merge-patch value that turns `current` into exactly `wanted` (nulls for extra keys). */
function replacement(wanted: unknown, current: unknown): unknown {
  if (wanted === undefined) return null;
  if (!isRecord(wanted) || !isRecord(current)) return wanted;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(wanted)) result[key] = replacement(value, current[key]);
  for (const key of Object.keys(current)) if (!(key in wanted)) result[key] = null;
  return result;
}
