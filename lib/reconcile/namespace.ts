// The tenant namespace (ARCHITECTURE.md §4): its desired labels and ownership annotation, who owns an
// observed namespace, and the step that creates, restores or reports it as NamespaceReady.
import { namespaces } from "../api/mod.ts";
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
import type { Action, Requeue, TenantEvent } from "./actions.ts";
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
  /** The messages of its True status conditions (deletion progress, e.g. content remaining). */
  progress: string[];
}

/** Who owns an observed namespace, according to its `kleff.io/tenant-uid` annotation. */
export type Ownership =
  /** Annotated with this Tenant's uid. */
  | { kind: "ours" }
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
}

/** Seconds until a namespace being deleted is looked at again (watch events usually come first). */
export const TERMINATING_REQUEUE_SECONDS = 10;
/** Seconds until a conflicting namespace, which no watch covers, is looked at again. */
const CONFLICT_REQUEUE_SECONDS = 60;

/** Options of {@linkcode namespaceStep}. */
export interface NamespaceStepOptions {
  /** The plan's Pod Security level (`restricted` for an unknown plan: fail closed). */
  podSecurity: PodSecurityLevel;
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
 * Who owns `namespace`, judged only by the ownership annotation (a namespace without a uid, which
 * no API server returns, is never ours: it could not be deleted safely).
 */
export function namespaceOwnership(namespace: NamespaceView, tenant: TenantView): Ownership {
  if (isOwned(namespace, tenant)) return { kind: "ours" };
  const owner = namespace.annotations[TENANT_UID_ANNOTATION];
  if (owner === undefined || owner === "") return { kind: "foreign" };
  const other = namespace.labels[TENANT_LABEL];
  return other === undefined ? { kind: "otherTenant" } : { kind: "otherTenant", tenant: other };
}

/** Says why a namespace is not this tenant's, for conditions and events. */
export function conflictMessage(namespace: NamespaceView, ownership: Ownership): string {
  const owner = ownership.kind === "otherTenant"
    ? `it belongs to another Tenant${ownership.tenant ? ` (${ownership.tenant})` : ""}`
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
 * used. `namespace` is the observed Namespace named by {@linkcode TenantView.statusNamespace} or
 * else `spec.userId`; an invalid spec or a changed `userId` writes nothing to any namespace.
 */
export function namespaceStep(
  tenant: TenantView,
  namespace: NamespaceView | undefined,
  options: NamespaceStepOptions,
): NamespaceStep {
  const spec = tenant.spec;
  const kept = tenant.statusNamespace;
  if (spec === undefined) {
    return invalid(kept, `invalid spec: ${tenant.problems.join("; ")}`);
  }
  if (kept !== undefined && kept !== spec.userId) {
    return invalid(
      kept,
      `spec.userId changed from ${kept} to ${spec.userId} after namespace ${kept} was created; ` +
        `userId is immutable: set it back to ${kept} (namespace ${kept} is kept, no other is created)`,
    );
  }
  const labels = desiredNamespaceLabels(tenant, spec, {
    podSecurity: options.podSecurity,
  });
  const annotations = desiredNamespaceAnnotations(tenant);
  if (namespace === undefined) {
    return {
      actions: [{
        kind: "create",
        resource: namespaces,
        object: {
          apiVersion: "v1",
          kind: "Namespace",
          metadata: { name: spec.userId, labels, annotations },
        },
      }],
      condition: ready(spec.userId),
      events: [{
        type: "Normal",
        reason: EventReason.NamespaceCreated,
        message: kept === undefined
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
  };
}

function invalid(kept: string | undefined, message: string): NamespaceStep {
  return {
    actions: [],
    condition: notReady(Reason.InvalidSpec, message),
    events: [],
    requeue: { kind: "none" },
    namespace: kept,
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
