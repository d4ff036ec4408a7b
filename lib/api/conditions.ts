// Condition types and reasons of the Tenant status (DESIGN.md §3): the vocabulary users and `kubectl wait` see.

/** Condition types the operator sets on a Tenant. */
export const ConditionType = {
  /** The namespace exists, is Active, is owned by the tenant and carries every managed label. */
  NamespaceReady: "NamespaceReady",
  /** Summary: every other condition is True. */
  TenantReady: "TenantReady",
} as const;

/** One of {@linkcode ConditionType}'s values. */
export type ConditionType = typeof ConditionType[keyof typeof ConditionType];

/** Condition (and Event) reasons. */
export const Reason = {
  /** NamespaceReady=True: the namespace is Active, owned and labelled. */
  NamespaceActive: "NamespaceActive",
  /** TenantReady=True: every condition is True. */
  Ready: "Ready",
  /** A namespace of that name exists and is not this tenant's. */
  NamespaceConflict: "NamespaceConflict",
  /** The namespace is being deleted. */
  NamespaceTerminating: "NamespaceTerminating",
  /** The spec is invalid (slipped past the CRD schema) or `userId` changed. */
  InvalidSpec: "InvalidSpec",
  /** A request to the Kubernetes API failed. */
  ApiError: "ApiError",
  /** TenantReady=False while the Tenant is being deleted. */
  Terminating: "Terminating",
} as const;

/** One of {@linkcode Reason}'s values. */
export type Reason = typeof Reason[keyof typeof Reason];

/** Event-only reasons: what the operator did (condition reasons double as Event reasons). */
export const EventReason = {
  /** The namespace was created (or recreated after a manual deletion). */
  NamespaceCreated: "NamespaceCreated",
  /** Managed labels or the ownership annotation were restored on the namespace. */
  NamespaceUpdated: "NamespaceUpdated",
  /** Teardown asked the API server to delete the namespace. */
  DeletingNamespace: "DeletingNamespace",
  /** Teardown saw the namespace gone and let the Tenant go. */
  NamespaceDeleted: "NamespaceDeleted",
  /** `deletionPolicy: Retain`: the namespace was disowned and labelled orphaned. */
  NamespaceRetained: "NamespaceRetained",
  /** Teardown left a namespace this tenant does not own untouched. */
  NamespaceReleased: "NamespaceReleased",
} as const;

/** One of {@linkcode EventReason}'s values. */
export type EventReason = typeof EventReason[keyof typeof EventReason];
