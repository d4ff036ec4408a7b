// The tenant namespace (ARCHITECTURE.md §4): its desired labels and ownership annotation, who owns an
// observed namespace, and the step that creates, restores or reports it as NamespaceReady.
import { namespaces, parseTime, reservedBy } from "../api/mod.ts";
import {
  ConditionType,
  EventReason,
  ISTIO_INJECTION_LABEL,
  ISTIO_INJECTION_VALUE,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  POD_SECURITY_LABELS,
  Reason,
  TENANT_LABEL,
  TENANT_PLAN_LABEL,
  TENANT_UID_ANNOTATION,
  TENANT_USERNAME_LABEL,
  type TenantSpec,
  type TenantStatus,
} from "../api/mod.ts";
import type { PodSecurityLevel } from "../plans/mod.ts";
import {
  type Action,
  claimNamespace,
  recordNamespace,
  type Requeue,
  type TenantEvent,
} from "./actions.ts";
import type { ConditionInput } from "./conditions.ts";
import { isOwned, patchAction, readObject } from "./managed.ts";
import { changedKeys, metadataPatch, type MetadataView } from "./metadata_patch.ts";
import { isRecord, type TenantView } from "./spec.ts";

/** What decisions need to know about an observed Namespace, read defensively from untyped JSON. */
export interface NamespaceView extends MetadataView {
  /** `metadata.name`. */
  name: string;
  /** `metadata.uid`, the delete precondition ("" when missing: such a namespace is never ours). */
  uid: string;
  /** Whether it is being deleted (`deletionTimestamp` set or `status.phase: Terminating`). */
  terminating: boolean;
  /** `metadata.creationTimestamp` in ms since the epoch, when it is a valid time. */
  created?: number;
  /** The messages of its True status conditions (deletion progress, e.g. content remaining). */
  progress: string[];
}

/**
 * Whose an observed namespace is (ARCHITECTURE.md §4). Ownership rests on the uid the operator
 * recorded in the Tenant's status when it created the namespace, not on anything written on the
 * namespace itself, which others may be able to edit.
 */
export type Ownership =
  /** The namespace this tenant created: its uid is `status.namespaceUID` (see `namespaceOwnership`). */
  | { kind: "ours" }
  /** Annotated with this Tenant's uid, but not the namespace the operator created for it. */
  | { kind: "unproven" }
  /** Annotated with another Tenant's uid (`tenant`: its `kleff.io/tenant` label, if any). */
  | { kind: "otherTenant"; tenant?: string }
  /** Not annotated: never adopted, never deleted. */
  | { kind: "foreign" };

/** The outcome of {@linkcode namespaceStep}. */
export interface NamespaceStep {
  /** Writes to the namespace. */
  actions: Action[];
  /** The NamespaceReady condition. */
  condition: ConditionInput;
  /** Events of the actions taken. */
  events: TenantEvent[];
  /** When to look again. */
  requeue: Requeue;
  /** The value of `status.namespace` afterwards. */
  namespace?: string;
  /** The value of `status.namespaceUID` afterwards (a create's is recorded by the executor). */
  namespaceUID?: string;
}

/** Seconds until a namespace being deleted is looked at again (watch events usually come first). */
export const TERMINATING_REQUEUE_SECONDS = 10;
/** Seconds until a conflicting namespace, which no watch covers, is looked at again. */
const CONFLICT_REQUEUE_SECONDS = 60;

/** Options of {@linkcode namespaceStep}. */
export interface NamespaceStepOptions {
  /** The plan's Pod Security level (`restricted` for an unknown plan: fail closed). */
  podSecurity: PodSecurityLevel;
  /** Reserved namespace names and prefixes (`PlanContext.reservedNamespaces`). */
  reserved: readonly string[];
}

/**
 * Reads a Namespace from untyped JSON; `undefined` (not found) for anything without a name.
 * Labels and annotations with non-string values are dropped.
 */
export function readNamespace(raw: unknown): NamespaceView | undefined {
  const object = readObject(raw);
  if (object === undefined) return undefined;
  const { name, uid, resourceVersion, labels, annotations, deleting } = object;
  const status = isRecord(raw) && isRecord(raw.status) ? raw.status : {};
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  return {
    name,
    uid,
    resourceVersion,
    labels,
    annotations,
    terminating: deleting || status.phase === "Terminating",
    created: parseTime(
      isRecord(raw) && isRecord(raw.metadata) ? raw.metadata.creationTimestamp : undefined,
    ),
    progress: conditions.flatMap((condition) =>
      isRecord(condition) && condition.status === "True" && typeof condition.message === "string" &&
        condition.message !== ""
        ? [condition.message]
        : []
    ),
  };
}

/** Options of {@linkcode desiredNamespaceLabels}. */
export interface NamespaceLabelsOptions {
  /** The Pod Security level its labels enforce, audit and warn. */
  podSecurity: PodSecurityLevel;
}

/**
 * The managed labels a tenant namespace carries for `spec` (ARCHITECTURE.md §4), Pod Security labels
 * included.
 */
export function desiredNamespaceLabels(
  tenant: TenantView,
  spec: TenantSpec,
  options: NamespaceLabelsOptions,
): Record<string, string> {
  const { podSecurity } = options;
  return {
    [ISTIO_INJECTION_LABEL]: ISTIO_INJECTION_VALUE,
    [TENANT_USERNAME_LABEL]: spec.username,
    [TENANT_PLAN_LABEL]: spec.plan,
    [TENANT_LABEL]: tenant.name,
    [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
    ...Object.fromEntries(POD_SECURITY_LABELS.map((key) => [key, podSecurity])),
  };
}

/** The ownership annotation of the tenant's namespace. */
export function desiredNamespaceAnnotations(tenant: TenantView): Record<string, string> {
  return { [TENANT_UID_ANNOTATION]: tenant.uid };
}

/**
 * Whose `namespace` is. It is this tenant's when it is the recorded namespace
 * ({@linkcode TenantView.recordedNamespace}) and its uid is the recorded `status.namespaceUID`,
 * whatever its labels and annotations say (they are restored). Without a recorded uid (a Tenant
 * from a release that did not record it, or a create whose answer was lost after the claim), the
 * recorded (claimed) namespace is accepted once, when it carries this tenant's annotation and
 * ownership labels; its uid is then recorded. Anything else annotated with this tenant's uid is
 * `unproven` and never adopted; a namespace without a uid (no API server sends one) is never ours.
 */
export function namespaceOwnership(namespace: NamespaceView, tenant: TenantView): Ownership {
  const named = namespace.uid !== "" && namespace.name === tenant.recordedNamespace;
  const recorded = tenant.statusNamespaceUID;
  if (named && recorded !== undefined && namespace.uid === recorded) return { kind: "ours" };
  if (
    named && recorded === undefined && carriesOwnership(namespace, tenant) &&
    !olderThan(namespace, tenant)
  ) {
    return { kind: "ours" };
  }
  const owner = namespace.annotations[TENANT_UID_ANNOTATION];
  if (owner === undefined || owner === "") return { kind: "foreign" };
  if (owner === tenant.uid) return { kind: "unproven" };
  const other = namespace.labels[TENANT_LABEL];
  return other === undefined ? { kind: "otherTenant" } : { kind: "otherTenant", tenant: other };
}

/**
 * Whether `namespace` was created before `tenant` (or either time is unknown): then the operator
 * cannot have created it for the tenant, whatever is written on either. Times have a resolution of
 * one second, so a namespace created in the Tenant's second is not older.
 */
function olderThan(namespace: NamespaceView, tenant: TenantView): boolean {
  return namespace.created === undefined || tenant.created === undefined ||
    namespace.created < tenant.created;
}

/** Whether `namespace` carries `tenant`'s ownership annotation and labels. */
function carriesOwnership(namespace: NamespaceView, tenant: TenantView): boolean {
  return isOwned(namespace, tenant) && namespace.labels[TENANT_LABEL] === tenant.name &&
    namespace.labels[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

/** Says why a reserved namespace is refused, for conditions and events. */
export function reservedMessage(name: string, entry: string): string {
  return `namespace ${name} is reserved for the platform (${
    entry === name ? "reserved" : `matches the reserved "${entry}"`
  }): no tenant may have it, so it is never created, changed or deleted for this Tenant; ` +
    `choose another spec.userId`;
}

/** Says why a namespace is not this tenant's, for conditions and events. */
export function conflictMessage(namespace: NamespaceView, ownership: Ownership): string {
  const owner = ownership.kind === "otherTenant"
    ? `it belongs to another Tenant${ownership.tenant ? ` (${ownership.tenant})` : ""}`
    : ownership.kind === "unproven"
    ? `it carries this Tenant's ${TENANT_UID_ANNOTATION} annotation but is not the namespace ` +
      `the operator created for it (its uid is not the one recorded in status.namespaceUID)`
    : `it exists without the ${TENANT_UID_ANNOTATION} annotation of this Tenant`;
  return `namespace ${namespace.name} cannot be used: ${owner}; it is never adopted or deleted${
    namespace.terminating ? " (it is being deleted; it will be created once it is gone)" : ""
  }`;
}

/**
 * Says what is still being deleted, from a terminating namespace's True conditions (e.g.
 * `NamespaceContentRemaining`, `NamespaceFinalizersRemaining`): `namespace X is being deleted: ...`.
 */
export function terminationProgress(namespace: NamespaceView): string {
  return `namespace ${namespace.name} is being deleted${
    namespace.progress.length === 0 ? "" : ` (${namespace.progress.join("; ")})`
  }`;
}

/**
 * Decides the namespace of a Tenant that is not being deleted: create it when absent (recreate it
 * when deleted by hand), restore its managed labels and annotation, or report why it cannot be
 * used. `namespace` is the observed Namespace named by {@linkcode TenantView.recordedNamespace} or
 * else `spec.userId`; an invalid spec, a reserved name or a changed `userId` writes nothing to any
 * namespace. A create is preceded by a claim on its name (unless claimed already; a recreate, by
 * recording the name in the status without the deleted namespace's uid) and records the new
 * namespace's uid (see `ClaimNamespaceAction`, `RecordNamespaceAction`).
 */
export function namespaceStep(
  tenant: TenantView,
  namespace: NamespaceView | undefined,
  options: NamespaceStepOptions,
): NamespaceStep {
  const spec = tenant.spec;
  const kept = tenant.recordedNamespace;
  const keptUid = tenant.statusNamespaceUID;
  if (spec === undefined) {
    return invalid(tenant, `invalid spec: ${tenant.problems.join("; ")}`);
  }
  for (const name of new Set([spec.userId, kept])) {
    const entry = name === undefined ? undefined : reservedBy(name, options.reserved);
    if (name !== undefined && entry !== undefined) {
      return invalid(tenant, `spec.userId: ${reservedMessage(name, entry)}`);
    }
  }
  if (kept !== undefined && kept !== spec.userId) {
    return invalid(
      tenant,
      `spec.userId changed from ${kept} to ${spec.userId} after namespace ${kept} was created; ` +
        `userId is immutable: set it back to ${kept} (namespace ${kept} is kept, no other is created)`,
    );
  }
  const labels = desiredNamespaceLabels(tenant, spec, {
    podSecurity: options.podSecurity,
  });
  const annotations = desiredNamespaceAnnotations(tenant);
  if (namespace === undefined) {
    const claim = keptUid !== undefined
      ? [recordNamespace(tenant, spec.userId)]
      : kept === spec.userId
      ? []
      : [claimNamespace(tenant, spec.userId)];
    return {
      actions: [
        ...claim,
        {
          kind: "create",
          resource: namespaces,
          object: {
            apiVersion: "v1",
            kind: "Namespace",
            metadata: { name: spec.userId, labels, annotations },
          },
          recordUid: true,
        },
      ],
      condition: ready(spec.userId),
      events: [{
        type: "Normal",
        reason: EventReason.NamespaceCreated,
        message: keptUid === undefined
          ? `created namespace ${spec.userId}`
          : `recreated namespace ${spec.userId} (it had been deleted)`,
      }],
      requeue: { kind: "none" },
      namespace: spec.userId,
    };
  }
  const ownership = namespaceOwnership(namespace, tenant);
  if (ownership.kind !== "ours") {
    return {
      actions: [],
      condition: notReady(Reason.NamespaceConflict, conflictMessage(namespace, ownership)),
      events: [],
      requeue: { kind: "after", seconds: CONFLICT_REQUEUE_SECONDS },
      namespace: kept,
      namespaceUID: keptUid,
    };
  }
  if (namespace.terminating) {
    return {
      actions: [],
      condition: notReady(
        Reason.NamespaceTerminating,
        `${terminationProgress(namespace)}; it will be recreated once it is gone`,
      ),
      events: [],
      requeue: { kind: "after", seconds: TERMINATING_REQUEUE_SECONDS },
      namespace: namespace.name,
      namespaceUID: namespace.uid,
    };
  }
  const patch = metadataPatch(namespace, { labels, annotations });
  return {
    actions: patch === undefined ? [] : [patchAction(namespaces, namespace, { patch })],
    condition: ready(namespace.name),
    events: patch === undefined ? [] : [{
      type: "Normal",
      reason: EventReason.NamespaceUpdated,
      message: `set ${changedKeys(patch).join(", ")} on namespace ${namespace.name}`,
    }],
    requeue: { kind: "none" },
    namespace: namespace.name,
    namespaceUID: namespace.uid,
  };
}

function invalid(tenant: TenantView, message: string): NamespaceStep {
  return {
    actions: [],
    condition: notReady(Reason.InvalidSpec, message),
    events: [],
    requeue: { kind: "none" },
    namespace: tenant.recordedNamespace,
    namespaceUID: tenant.statusNamespaceUID,
  };
}

function ready(name: string): ConditionInput {
  return {
    type: ConditionType.NamespaceReady,
    status: "True",
    reason: Reason.NamespaceActive,
    message: `namespace ${name} is active, owned by this tenant and labelled`,
  };
}

function notReady(reason: string, message: string): ConditionInput {
  return { type: ConditionType.NamespaceReady, status: "False", reason, message };
}

/**
 * Whether a Tenant with `status` waits for a namespace someone else holds (NamespaceConflict):
 * it can proceed as soon as that namespace changes hands or goes, so the operator reconciles it
 * on events of that namespace.
 */
export function waitsForNamespace(status: TenantStatus | undefined): boolean {
  return status?.conditions?.some((condition) =>
    condition.type === ConditionType.NamespaceReady &&
    condition.reason === Reason.NamespaceConflict
  ) ?? false;
}
