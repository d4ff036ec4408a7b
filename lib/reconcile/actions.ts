// The vocabulary between pure decisions and the I/O layer: the writes a decision asks for, the
// Events it records and when to look again. The executor's whole contract is documented here.
import type { ResourceDescriptor } from "../api/mod.ts";
import type { KubeObject } from "../api/mod.ts";
import {
  NAMESPACE_CLAIM_ANNOTATION,
  namespaces,
  TENANT_FINALIZER,
  TENANT_RESOURCE,
  type TenantStatus,
} from "../api/mod.ts";
import { statusEqual } from "./conditions.ts";
import type { TenantView } from "./spec.ts";

/** A JSON merge patch (RFC 7386) body: `null` values delete keys. */
export type MergePatch = Record<string, unknown>;

/**
 * One operation of a JSON patch (RFC 6902) as the operator writes them: `test` compares (a missing
 * member equals `null`), `add` sets (replacing a member), `remove` deletes a member.
 */
export type JsonPatchOperation =
  | {
    /** `test` or `add`. */
    op: "test" | "add";
    /** JSON pointer. */
    path: string;
    /** The value compared or set. */
    value: unknown;
  }
  | {
    /** `remove`. */
    op: "remove";
    /** JSON pointer. */
    path: string;
  };

/**
 * Add the finalizer to the Tenant: `PATCH` the Tenant with the JSON patch `patch`
 * (`application/json-patch+json`, see {@linkcode tenantPatchApplies}). The patch tests the
 * Tenant's uid and its finalizers as they were read before it sets them, so a Tenant deleted and
 * recreated, or whose finalizers someone changed since, refuses it (422) and no finalizer is lost,
 * while a change of anything else (its status, its other annotations) does not get in its way.
 * With `claim`, the same patch claims that namespace (see {@linkcode ClaimNamespaceAction}): a new
 * Tenant's finalizer and claim are one write. A refused patch ends the decision: the executor
 * reads the Tenant to tell a stale view ({@linkcode ActionFailure.stale}) from a rejection.
 */
export interface AddFinalizerAction {
  /** Discriminator. */
  kind: "addFinalizer";
  /** Always the Tenant resource. */
  resource: ResourceDescriptor;
  /** The Tenant's name. */
  name: string;
  /** The namespace claimed in the same patch, if any. */
  claim?: string;
  /**
   * JSON patch: test `metadata.uid` and `metadata.finalizers`, then set the finalizers (and the
   * claim annotation).
   */
  patch: JsonPatchOperation[];
}

/**
 * Remove the finalizer from the Tenant: `PATCH` it like {@linkcode AddFinalizerAction}. Always the
 * last action of a decision: the Tenant may disappear as soon as it succeeds.
 */
export interface RemoveFinalizerAction {
  /** Discriminator. */
  kind: "removeFinalizer";
  /** Always the Tenant resource. */
  resource: ResourceDescriptor;
  /** The Tenant's name. */
  name: string;
  /** JSON patch: test `metadata.uid` and `metadata.finalizers`, then set the finalizers. */
  patch: JsonPatchOperation[];
}

/**
 * Claim the namespace the Tenant is about to create: `PATCH` the Tenant with the JSON patch
 * `patch`, which tests its uid and sets the annotation `kleff.io/namespace-claim` to the name. It
 * comes before that namespace's create (in a new Tenant's finalizer patch, see
 * {@linkcode AddFinalizerAction.claim}), so that a create whose answer is lost (a crash, a lost
 * connection) leaves a claim the next reconcile recognises (ARCHITECTURE.md §4). On success the
 * executor applies it to the Tenant it holds (a later failure's decision starts from what is
 * stored).
 */
export interface ClaimNamespaceAction {
  /** Discriminator. */
  kind: "claimNamespace";
  /** Always the Tenant resource. */
  resource: ResourceDescriptor;
  /** The Tenant's name. */
  name: string;
  /** The namespace about to be created. */
  namespace: string;
  /** JSON patch: test `metadata.uid`, then set the claim annotation. */
  patch: JsonPatchOperation[];
}

/**
 * Withdraw the claim on a namespace someone else created under the claimed name (the create was
 * refused with AlreadyExists): `PATCH` the Tenant with the JSON patch `patch`, which tests its uid
 * and the claim, then removes the claim annotation. The one write a failure's decision makes (see
 * `decideFailure`), so that a namespace this operator did not see itself create is never taken
 * for the tenant's.
 */
export interface WithdrawClaimAction {
  /** Discriminator. */
  kind: "withdrawClaim";
  /** Always the Tenant resource. */
  resource: ResourceDescriptor;
  /** The Tenant's name. */
  name: string;
  /** The namespace no longer claimed. */
  namespace: string;
  /** JSON patch: test `metadata.uid` and the claim, then remove the claim annotation. */
  patch: JsonPatchOperation[];
}

/**
 * Record in the Tenant's status the namespace it is about to recreate (one deleted by hand):
 * `PATCH` the status subresource with {@linkcode MergePatch} `patch` (`status.namespace` set,
 * `status.namespaceUID` of the deleted namespace removed), so that the recreated namespace, whose
 * uid differs, is recognised when the create's answer is lost (ARCHITECTURE.md §4). On success the
 * executor applies the patch to the Tenant it holds.
 */
export interface RecordNamespaceAction {
  /** Discriminator. */
  kind: "recordNamespace";
  /** Always the Tenant resource. */
  resource: ResourceDescriptor;
  /** The Tenant's name. */
  name: string;
  /** The namespace about to be created. */
  namespace: string;
  /** Merge patch of the status subresource. */
  patch: MergePatch;
}

/**
 * `POST` `object` to `resource` (in `namespace` for namespaced kinds). 409 AlreadyExists: re-decide.
 * With `recordUid` (the tenant namespace), the executor records the created object's uid as
 * `status.namespaceUID`: in this decision's `status` (then written) and in the Tenant it holds.
 */
export interface CreateAction {
  /** Discriminator. */
  kind: "create";
  /** What kind of object. */
  resource: ResourceDescriptor;
  /** Namespace of a namespaced object. */
  namespace?: string;
  /** The complete object to create. */
  object: KubeObject;
  /** Record the created object's uid as `status.namespaceUID`. */
  recordUid?: boolean;
}

/**
 * `PATCH` object `name` with `patch` as `application/merge-patch+json`. The patch carries the
 * observed `metadata.resourceVersion`: 409 means the object changed, re-decide from fresh state.
 */
export interface PatchAction {
  /** Discriminator. */
  kind: "patch";
  /** What kind of object. */
  resource: ResourceDescriptor;
  /** Namespace of a namespaced object. */
  namespace?: string;
  /** The object's name. */
  name: string;
  /** Merge patch touching only the keys the operator manages. */
  patch: MergePatch;
}

/**
 * `DELETE` object `name` with a `DeleteOptions` body holding `preconditions`, so an object that was
 * replaced or changed since it was read is never deleted (409: re-decide).
 */
export interface DeleteAction {
  /** Discriminator. */
  kind: "delete";
  /** What kind of object. */
  resource: ResourceDescriptor;
  /** Namespace of a namespaced object. */
  namespace?: string;
  /** The object's name. */
  name: string;
  /** The uid and resourceVersion the object must still have. */
  preconditions: { uid: string; resourceVersion?: string };
}

/** One write a decision asks for. */
export type Action =
  | AddFinalizerAction
  | RemoveFinalizerAction
  | ClaimNamespaceAction
  | WithdrawClaimAction
  | RecordNamespaceAction
  | CreateAction
  | PatchAction
  | DeleteAction;

/** A Kubernetes Event to record on the Tenant (the recorder aggregates repeats). */
export interface TenantEvent {
  /** `Normal` for progress, `Warning` for conflicts and errors. */
  type: "Normal" | "Warning";
  /** CamelCase reason, e.g. `NamespaceCreated`. */
  reason: string;
  /** Human-readable message. */
  message: string;
}

/** When to reconcile the Tenant again, besides watch events and the periodic resync. */
export type Requeue =
  /** Nothing to wait for: forget the tenant's backoff. */
  | { kind: "none" }
  /** Waiting on something that may change without a watch event: look again after `seconds`. */
  | { kind: "after"; seconds: number }
  /**
   * The view was stale (a 404 or 409 answer to a write): look again from fresh state, with the
   * tenant's backoff. A routine outcome of optimistic concurrency, not a failure.
   */
  | { kind: "retry" }
  /** A request failed: retry from fresh state with the tenant's exponential backoff. */
  | { kind: "backoff" };

/**
 * What to do for one Tenant. The executor:
 * 1. runs `actions` stage by stage (see {@linkcode actionStages}: the actions of a stage at the
 *    same time) and stops after a stage in which one failed (then it executes
 *    `decideFailure(tenant, failure, options)` for the first failed action of the stage, in
 *    order, instead of the rest of this decision, with the Tenant as the actions that succeeded
 *    left it: see {@linkcode ClaimNamespaceAction}, {@linkcode RecordNamespaceAction} and
 *    {@linkcode CreateAction.recordUid}; that decision's actions, at most the withdrawal of a
 *    claim, run one after the other, and a failure of one ends it with `backoff`);
 * 2. if `writeStatus`, merge-patches the status subresource to `{ status }`, top-level fields
 *    `status` lacks set to null (no lock needed: one reconcile per tenant runs at a time, and a
 *    Tenant carrying the finalizer cannot be replaced);
 * 3. records `events` on the Tenant (after 1 and 2 succeeded, since they describe the result);
 * 4. requeues as `requeue` says; logs `ignored` when set.
 */
export interface Decision {
  /** Writes, in order. Empty for a tenant that is already correct. */
  actions: Action[];
  /** The complete status after the actions succeed. */
  status: TenantStatus;
  /** Whether `status` differs from the observed status (deep equality, nothing ignored). */
  writeStatus: boolean;
  /** Events describing transitions; empty for a tenant that is already correct. */
  events: TenantEvent[];
  /** When to look again. */
  requeue: Requeue;
  /** Set when the object cannot be handled at all (e.g. no uid): why, for the log. */
  ignored?: string;
}

/** A JSON patch of the Tenant itself (its finalizers, its claim annotation). */
export type TenantPatchAction =
  | AddFinalizerAction
  | RemoveFinalizerAction
  | ClaimNamespaceAction
  | WithdrawClaimAction;

/** Whether `action` is a JSON patch of the Tenant itself. */
export function isTenantPatch(action: Action): action is TenantPatchAction {
  return action.kind === "addFinalizer" || action.kind === "removeFinalizer" ||
    action.kind === "claimNamespace" || action.kind === "withdrawClaim";
}

const CLAIM_PATH = `/metadata/annotations/${NAMESPACE_CLAIM_ANNOTATION.replaceAll("/", "~1")}`;

/**
 * The JSON patch of the Tenant that tests its uid, then (with `finalizers`) tests its finalizers
 * as read and sets them, then (with `claim`) sets the claim annotation: on an annotation map
 * that exists as read, or as a new map tested absent, so no other annotation is ever lost; or
 * (with `withdraw`) tests that the claim names that namespace and removes it.
 */
function tenantPatch(
  tenant: TenantView,
  change: { finalizers?: string[]; claim?: string; withdraw?: string },
): JsonPatchOperation[] {
  const patch: JsonPatchOperation[] = [{ op: "test", path: "/metadata/uid", value: tenant.uid }];
  if (change.finalizers !== undefined) {
    patch.push(
      { op: "test", path: "/metadata/finalizers", value: tenant.storedFinalizers },
      { op: "add", path: "/metadata/finalizers", value: change.finalizers },
    );
  }
  if (change.claim !== undefined) {
    patch.push(
      ...(tenant.hasAnnotations
        ? [{ op: "add" as const, path: CLAIM_PATH, value: change.claim }]
        : [
          { op: "test" as const, path: "/metadata/annotations", value: null },
          {
            op: "add" as const,
            path: "/metadata/annotations",
            value: { [NAMESPACE_CLAIM_ANNOTATION]: change.claim },
          },
        ]),
    );
  }
  if (change.withdraw !== undefined) {
    patch.push(
      { op: "test", path: CLAIM_PATH, value: change.withdraw },
      { op: "remove", path: CLAIM_PATH },
    );
  }
  return patch;
}

/** The namespace a write claims in the Tenant's annotations, if it claims one. */
export function claimOf(action: Action): string | undefined {
  return action.kind === "claimNamespace"
    ? action.namespace
    : action.kind === "addFinalizer"
    ? action.claim
    : undefined;
}

/**
 * Whether Tenant patch `action` still applies to `tenant` (an object as read, or `undefined` when
 * it is gone): its tests hold, the member each `add` goes into exists and each member it removes
 * is there. When it does not, a refused patch was a stale view; when it does, the API server
 * rejected it for another reason.
 */
export function tenantPatchApplies(
  action: TenantPatchAction,
  tenant: { metadata?: object } | undefined,
): boolean {
  if (tenant === undefined) return false;
  return action.patch.every((operation) => {
    const found = pointer(tenant, operation.path);
    switch (operation.op) {
      case "test":
        return statusEqual(found.value ?? null, operation.value);
      case "add":
        return found.parent;
      case "remove":
        return found.value !== undefined;
    }
  });
}

/** Resolves JSON pointer `path` in `root`: the value there, and whether its parent is an object. */
function pointer(root: unknown, path: string): { value?: unknown; parent: boolean } {
  const keys = path.split("/").slice(1).map((key) =>
    key.replaceAll("~1", "/").replaceAll("~0", "~")
  );
  let value: unknown = root;
  for (const [index, key] of keys.entries()) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return { parent: false };
    }
    const next = (value as Record<string, unknown>)[key];
    if (index === keys.length - 1) return { value: next, parent: true };
    value = next;
  }
  return { value, parent: false };
}

/**
 * The action adding the operator's finalizer to the Tenant, keeping any other finalizers, and
 * claiming namespace `claim` in the same patch when given.
 */
export function addFinalizer(tenant: TenantView, claim?: string): AddFinalizerAction {
  return {
    kind: "addFinalizer",
    resource: TENANT_RESOURCE,
    name: tenant.name,
    ...(claim === undefined ? {} : { claim }),
    patch: tenantPatch(tenant, { finalizers: [...tenant.finalizers, TENANT_FINALIZER], claim }),
  };
}

/** The action removing the operator's finalizer from the Tenant, keeping any other finalizers. */
export function removeFinalizer(tenant: TenantView): RemoveFinalizerAction {
  return {
    kind: "removeFinalizer",
    resource: TENANT_RESOURCE,
    name: tenant.name,
    patch: tenantPatch(tenant, {
      finalizers: tenant.finalizers.filter((item) => item !== TENANT_FINALIZER),
    }),
  };
}

/** The action claiming `namespace` as the one `tenant` is about to create. */
export function claimNamespace(tenant: TenantView, namespace: string): ClaimNamespaceAction {
  return {
    kind: "claimNamespace",
    resource: TENANT_RESOURCE,
    name: tenant.name,
    namespace,
    patch: tenantPatch(tenant, { claim: namespace }),
  };
}

/** The action withdrawing `tenant`'s claim on `namespace`. */
export function withdrawClaim(tenant: TenantView, namespace: string): WithdrawClaimAction {
  return {
    kind: "withdrawClaim",
    resource: TENANT_RESOURCE,
    name: tenant.name,
    namespace,
    patch: tenantPatch(tenant, { withdraw: namespace }),
  };
}

/**
 * `actions` preceded by the finalizer's addition, into which a leading claim folds: a new Tenant's
 * finalizer and claim are one write.
 */
export function withFinalizer(tenant: TenantView, actions: readonly Action[]): Action[] {
  const [first, ...rest] = actions;
  return first?.kind === "claimNamespace"
    ? [addFinalizer(tenant, first.namespace), ...rest]
    : [addFinalizer(tenant), ...actions];
}

/** The action recording `namespace` as the one `tenant` is about to recreate. */
export function recordNamespace(tenant: TenantView, namespace: string): RecordNamespaceAction {
  return {
    kind: "recordNamespace",
    resource: TENANT_RESOURCE,
    name: tenant.name,
    namespace,
    patch: { status: { namespace, namespaceUID: null } },
  };
}

/**
 * `actions` as the executor runs them: stages one after the other, the actions of one stage at
 * the same time, in the decision's order. Consecutive writes to the Tenant (its finalizer, the
 * recorded namespace: the main resource and the status subresource, neither locked to the other)
 * share a stage; a write to the namespace is a stage of its own, since every later write depends
 * on it; consecutive writes of other objects (quota, limits, policies, constraints: each depends
 * only on the namespace, none on another) share one.
 */
export function actionStages(actions: readonly Action[]): Action[][] {
  const stages: Action[][] = [];
  let shared: Action[] | undefined;
  let sharedBy: "tenant" | "objects" | undefined;
  for (const action of actions) {
    const group = isKind(action, TENANT_RESOURCE)
      ? "tenant"
      : isKind(action, namespaces)
      ? "namespace"
      : "objects";
    if (group !== "namespace" && group === sharedBy) shared!.push(action);
    else {
      stages.push(shared = [action]);
      sharedBy = group === "namespace" ? undefined : group;
    }
  }
  return stages;
}

function isKind(action: Action, resource: ResourceDescriptor): boolean {
  return action.resource.group === resource.group && action.resource.kind === resource.kind;
}

/** Names an action for logs and messages, e.g. `create Namespace user-1`. */
export function describeAction(action: Action): string {
  const { kind } = action.resource;
  const qualified = (namespace: string | undefined, name: string | undefined) =>
    `${namespace ? `${namespace}/` : ""}${name || "(unnamed)"}`;
  switch (action.kind) {
    case "addFinalizer":
      return `add finalizer ${TENANT_FINALIZER} to ${kind} ${action.name}${
        action.claim === undefined ? "" : ` and claim namespace ${action.claim}`
      }`;
    case "claimNamespace":
      return `claim namespace ${action.namespace} for ${kind} ${action.name}`;
    case "withdrawClaim":
      return `withdraw the claim of ${kind} ${action.name} on namespace ${action.namespace}`;
    case "removeFinalizer":
      return `remove finalizer ${TENANT_FINALIZER} from ${kind} ${action.name}`;
    case "recordNamespace":
      return `record namespace ${action.namespace} in the status of ${kind} ${action.name}`;
    case "create":
      return `create ${kind} ${qualified(action.namespace, action.object.metadata?.name)}`;
    case "patch":
      return `patch ${kind} ${qualified(action.namespace, action.name)}`;
    case "delete":
      return `delete ${kind} ${qualified(action.namespace, action.name)}`;
  }
}
