// Teardown of a Tenant being deleted (ARCHITECTURE.md §4): delete its cluster-scoped constraints and
// its own namespace and wait for them, or retain the namespace and its guard rails disowned, or
// release a namespace that is not its own; the finalizer comes off last.
import { namespaces } from "../api/mod.ts";
import {
  ConditionType,
  EventReason,
  ORPHANED_LABEL,
  OWNERSHIP_LABEL_KEYS,
  Reason,
  reservedBy,
  TENANT_UID_ANNOTATION,
} from "../api/mod.ts";
import {
  type Action,
  type MergePatch,
  removeFinalizer,
  type Requeue,
  type TenantEvent,
} from "./actions.ts";
import { type ConditionInput, findCondition } from "./conditions.ts";
import {
  deleteAction,
  describeObject,
  type KindedObject,
  type ObservedKind,
  ownedLabels,
  ownedObjects,
  patchAction,
} from "./managed.ts";
import { metadataPatch, type MetadataView } from "./metadata_patch.ts";
import {
  conflictMessage,
  namespaceOwnership,
  type NamespaceView,
  reservedMessage,
  TERMINATING_REQUEUE_SECONDS,
  terminationProgress,
} from "./namespace.ts";
import type { TenantView } from "./spec.ts";

/** The outcome of {@linkcode teardownStep}. */
export interface TeardownStep {
  /** Writes; the finalizer removal, when present, is last. */
  actions: Action[];
  /** The conditions while waiting; `undefined` when the status need not change (the Tenant goes). */
  conditions?: ConditionInput[];
  /** Events of the teardown. */
  events: TenantEvent[];
  /** When to look again. */
  requeue: Requeue;
}

/** Options of {@linkcode teardownStep}. */
export interface TeardownOptions {
  /** The tenant's observed objects (see `observations`): constraints, and with Retain the rest. */
  objects: readonly ObservedKind[];
  /** Reserved namespace names and prefixes: such a namespace is released, never deleted. */
  reserved: readonly string[];
}

/**
 * Decides the teardown of a Tenant with `deletionTimestamp` that still carries the finalizer.
 * `namespace` is the observed Namespace named by `status.namespace` or else `spec.userId`.
 * - no namespace (or none could be named): remove the finalizer;
 * - a namespace not owned by the Tenant (see `namespaceOwnership`), or a reserved one: remove the
 *   finalizer, leave the namespace untouched;
 * - `Retain` (or an invalid policy, the safe choice): strip the ownership annotation and managed
 *   labels, label it `kleff.io/orphaned: "true"`, then remove the finalizer;
 * - `Delete`: delete it (preconditions: its uid, which is the recorded `status.namespaceUID`, and
 *   its resourceVersion), then wait, reporting what is still there, until it is gone; only then
 *   remove the finalizer.
 */
export function teardownStep(
  tenant: TenantView,
  namespace: NamespaceView | undefined,
  options: TeardownOptions,
): TeardownStep {
  const owned = ownedObjects(options.objects, tenant);
  const constraints = owned.filter((item) => !item.resource.namespaced);
  const reserved = namespace === undefined
    ? undefined
    : reservedBy(namespace.name, options.reserved);
  if (namespace !== undefined && reserved !== undefined) {
    if (constraints.length > 0) return deleting(tenant, undefined, constraints);
    return {
      actions: [removeFinalizer(tenant)],
      events: [{
        type: "Warning",
        reason: EventReason.NamespaceReleased,
        message: `released without touching it: ${reservedMessage(namespace.name, reserved)}`,
      }],
      requeue: { kind: "none" },
    };
  }
  const ownership = namespace === undefined ? undefined : namespaceOwnership(namespace, tenant);
  if (namespace !== undefined && ownership?.kind === "ours" && tenant.deletionPolicy !== "Delete") {
    return retain(tenant, namespace, owned);
  }
  const ourNamespace = namespace !== undefined && ownership?.kind === "ours"
    ? namespace
    : undefined;
  if (ourNamespace === undefined && constraints.length > 0) {
    return deleting(tenant, undefined, constraints);
  }
  if (namespace === undefined) {
    const waited = findCondition(tenant.conditions, ConditionType.TenantReady)?.reason ===
      Reason.Terminating;
    const name = tenant.recordedNamespace ?? tenant.userId;
    return {
      actions: [removeFinalizer(tenant)],
      events: waited && name !== undefined
        ? [{
          type: "Normal",
          reason: EventReason.NamespaceDeleted,
          message: `namespace ${name} is gone`,
        }]
        : [],
      requeue: { kind: "none" },
    };
  }
  if (ownership !== undefined && ownership.kind !== "ours") {
    return {
      actions: [removeFinalizer(tenant)],
      events: [{
        type: "Normal",
        reason: EventReason.NamespaceReleased,
        message: `released without touching it: ${conflictMessage(namespace, ownership)}`,
      }],
      requeue: { kind: "none" },
    };
  }
  return deleting(tenant, namespace, constraints);
}

/**
 * Deletes what is left (the constraints, the namespace) and waits, reporting what is still
 * there. The namespace's own objects go with it.
 */
function deleting(
  tenant: TenantView,
  namespace: NamespaceView | undefined,
  constraints: KindedObject[],
): TeardownStep {
  const live = constraints.filter((item) => !item.object.deleting);
  const actions: Action[] = live.map((item) => deleteAction(item.resource, item.object));
  const deleted = live.map((item) => describeObject(item.resource, item.object.name));
  const left = constraints.map((item) => describeObject(item.resource, item.object.name));
  if (namespace !== undefined && !namespace.terminating) {
    actions.push(deleteAction(namespaces, namespace));
    deleted.push(`namespace ${namespace.name}`);
  }
  const waitingFor = [
    ...(namespace === undefined ? [] : [terminationProgress(namespace)]),
    ...(left.length === 0 ? [] : [`deleting ${left.join(", ")}`]),
  ].join("; ");
  return {
    actions,
    conditions: waiting(
      actions.length > 0 && namespace !== undefined && !namespace.terminating
        ? `deleting namespace ${namespace.name}${left.length > 0 ? ` and ${left.join(", ")}` : ""}`
        : `waiting: ${waitingFor}`,
    ),
    events: deleted.length === 0 ? [] : [{
      type: "Normal",
      reason: EventReason.DeletingNamespace,
      message: `deleting ${deleted.join(", ")} (deletionPolicy ${
        tenant.deletionPolicy ?? "Delete"
      })`,
    }],
    requeue: { kind: "after", seconds: TERMINATING_REQUEUE_SECONDS },
  };
}

/**
 * `Retain`: the namespace and the guard rails in it (quota, limits, isolation, Istio objects,
 * constraints) stay in force, but the operator lets go of all of them: ownership annotation and
 * managed labels (Pod Security labels included) removed, `kleff.io/orphaned: "true"` added.
 */
function retain(
  tenant: TenantView,
  namespace: NamespaceView,
  owned: KindedObject[],
): TeardownStep {
  const patch = disown(namespace, OWNERSHIP_LABEL_KEYS);
  const objectLabels = Object.keys(ownedLabels(tenant));
  const objectPatches: Action[] = owned.flatMap(({ resource, object }) => {
    const body = disown(object, objectLabels);
    return body === undefined ? [] : [patchAction(resource, object, { patch: body })];
  });
  const events: TenantEvent[] = [];
  if (tenant.deletionPolicy === undefined) {
    events.push({
      type: "Warning",
      reason: Reason.InvalidSpec,
      message: `${
        tenant.problems.find((problem) => problem.startsWith("spec.deletionPolicy")) ??
          "spec.deletionPolicy is invalid"
      }: retaining namespace ${namespace.name} to keep its data`,
    });
  }
  events.push({
    type: "Normal",
    reason: EventReason.NamespaceRetained,
    message:
      `retained namespace ${namespace.name}: ownership removed, labelled ${ORPHANED_LABEL}=true${
        owned.length === 0
          ? ""
          : `; kept in force, disowned: ${
            owned.map((item) => describeObject(item.resource, item.object.name)).join(", ")
          }`
      }`,
  });
  return {
    actions: [
      ...objectPatches,
      ...(patch === undefined ? [] : [patchAction(namespaces, namespace, { patch })]),
      removeFinalizer(tenant),
    ],
    events,
    requeue: { kind: "none" },
  };
}

/** The metadata patch removing `labels` and the ownership annotation, adding the orphaned label. */
function disown(object: MetadataView, labels: readonly string[]): MergePatch | undefined {
  const changes: Record<string, string | null> = Object.fromEntries(
    labels.map((key) => [key, null]),
  );
  changes[ORPHANED_LABEL] = "true";
  return metadataPatch(object, { labels: changes, annotations: { [TENANT_UID_ANNOTATION]: null } });
}

function waiting(message: string): ConditionInput[] {
  return [
    {
      type: ConditionType.NamespaceReady,
      status: "False",
      reason: Reason.NamespaceTerminating,
      message,
    },
    { type: ConditionType.TenantReady, status: "False", reason: Reason.Terminating, message },
  ];
}
