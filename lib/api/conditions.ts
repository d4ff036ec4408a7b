// Condition types and reasons of the Tenant status (ARCHITECTURE.md §3): the vocabulary users and `kubectl wait` see.

/** Condition types the operator sets on a Tenant. */
export const ConditionType = {
  /** The namespace exists, is Active, is owned by the tenant and carries every managed label. */
  NamespaceReady: "NamespaceReady",
  /** Every per-plan object (ResourceQuota, LimitRange) matches the plan (ARCHITECTURE.md §5). */
  ResourcesReady: "ResourcesReady",
  /** Every isolation/policy object is in place, or its CRDs are absent (ARCHITECTURE.md §6). */
  PoliciesReady: "PoliciesReady",
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
  /** The spec is invalid (slipped past the CRD schema), `userId` changed or names a reserved namespace. */
  InvalidSpec: "InvalidSpec",
  /** A request to the Kubernetes API failed. */
  ApiError: "ApiError",
  /** TenantReady=False while the Tenant is being deleted. */
  Terminating: "Terminating",
  /** ResourcesReady=True: the quota and limits match the plan. */
  PlanApplied: "PlanApplied",
  /** PoliciesReady=True: every isolation and policy object is in place. */
  PoliciesApplied: "PoliciesApplied",
  /** PoliciesReady=True: some integrations (Istio, Gatekeeper kinds) are not served; the rest is in place. */
  NotInstalled: "NotInstalled",
  /**
   * `spec.plan` names no plan of the catalogue: failed closed (a quota admitting no pods, compute,
   * external Services or storage; the namespace isolated; every other guard rail kept).
   */
  UnknownPlan: "UnknownPlan",
  /**
   * A cluster-scoped object with one of the operator's names exists without this tenant's
   * ownership annotation (in the tenant's namespace such objects are the operator's: restored).
   */
  ObjectConflict: "ObjectConflict",
  /** An object of this tenant is being deleted by someone else; it is recreated once gone. */
  ObjectTerminating: "ObjectTerminating",
  /**
   * PoliciesReady=False: the tenant's gateway hosts overlap those of a tenant that claimed them
   * first (older, then by name); no Gateway is created until that tenant lets them go.
   */
  HostConflict: "HostConflict",
  /** ResourcesReady/PoliciesReady=Unknown: the namespace is not ready, nothing is placed in it. */
  NamespaceNotReady: "NamespaceNotReady",
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
  /** Per-plan objects (quota, limits) were created, restored or removed. */
  ResourcesSynced: "ResourcesSynced",
  /** Isolation and policy objects (NetworkPolicy, Istio, Gatekeeper) were created, restored or removed. */
  PoliciesSynced: "PoliciesSynced",
  /** A plan catalogue ConfigMap edit was refused; the last good catalogue stays in force. */
  InvalidPlanCatalogue: "InvalidPlanCatalogue",
} as const;

/** One of {@linkcode EventReason}'s values. */
export type EventReason = typeof EventReason[keyof typeof EventReason];
