// Teardown of a Tenant being deleted (DESIGN.md §4): delete and wait for its own namespace, or
// retain it disowned, or release a namespace that is not its own; the finalizer comes off last.
import { namespaces } from "../client/resources.ts";
import {
  ConditionType,
  EventReason,
  MANAGED_LABEL_KEYS,
  ORPHANED_LABEL,
  Reason,
  TENANT_UID_ANNOTATION,
} from "../api/mod.ts";
import { type Action, removeFinalizer, type Requeue, type TenantEvent } from "./actions.ts";
import { type ConditionInput, findCondition } from "./conditions.ts";
import { metadataPatch } from "./metadata_patch.ts";
import {
  conflictMessage,
  namespaceOwnership,
  type NamespaceView,
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
  /** Seconds until a namespace being deleted is looked at again. */
  terminatingRequeueSeconds: number;
}

/**
 * Decides the teardown of a Tenant with `deletionTimestamp` that still carries the finalizer.
 * `namespace` is the observed Namespace named by `status.namespace` or else `spec.userId`.
 * - no namespace (or none could be named): remove the finalizer;
 * - a namespace not owned by the Tenant: remove the finalizer, leave the namespace untouched;
 * - `Retain` (or an invalid policy, the safe choice): strip the ownership annotation and managed
 *   labels, label it `kleff.io/orphaned: "true"`, then remove the finalizer;
 * - `Delete`: delete it (uid and resourceVersion preconditions), then wait, reporting what is
 *   still there, until it is gone; only then remove the finalizer.
 */
export function teardownStep(
  tenant: TenantView,
  namespace: NamespaceView | undefined,
  options: TeardownOptions,
): TeardownStep {
  if (namespace === undefined) {
    const waited = findCondition(tenant.conditions, ConditionType.TenantReady)?.reason ===
      Reason.Terminating;
    const name = tenant.statusNamespace ?? tenant.userId;
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
  const ownership = namespaceOwnership(namespace, tenant);
  if (ownership.kind !== "ours") {
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
  if (tenant.deletionPolicy !== "Delete") return retain(tenant, namespace);
  if (!namespace.terminating) {
    return {
      actions: [{
        kind: "delete",
        resource: namespaces,
        name: namespace.name,
        preconditions: namespace.resourceVersion === undefined
          ? { uid: namespace.uid }
          : { uid: namespace.uid, resourceVersion: namespace.resourceVersion },
      }],
      conditions: waiting(`deleting namespace ${namespace.name}`),
      events: [{
        type: "Normal",
        reason: EventReason.DeletingNamespace,
        message: `deleting namespace ${namespace.name} (deletionPolicy Delete)`,
      }],
      requeue: { kind: "after", seconds: options.terminatingRequeueSeconds },
    };
  }
  return {
    actions: [],
    conditions: waiting(`waiting: ${terminationProgress(namespace)}`),
    events: [],
    requeue: { kind: "after", seconds: options.terminatingRequeueSeconds },
  };
}

function retain(tenant: TenantView, namespace: NamespaceView): TeardownStep {
  const labels: Record<string, string | null> = Object.fromEntries(
    MANAGED_LABEL_KEYS.map((key) => [key, null]),
  );
  labels[ORPHANED_LABEL] = "true";
  const patch = metadataPatch(namespace, {
    labels,
    annotations: { [TENANT_UID_ANNOTATION]: null },
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
      `retained namespace ${namespace.name}: ownership removed, labelled ${ORPHANED_LABEL}=true`,
  });
  return {
    actions: [
      ...(patch === undefined ? [] : [{
        kind: "patch" as const,
        resource: namespaces,
        name: namespace.name,
        patch,
      }]),
      removeFinalizer(tenant),
    ],
    events,
    requeue: { kind: "none" },
  };
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
