// The finalizer, label and annotation keys the operator writes (ARCHITECTURE.md §4): one name per key, shared by code and tests.

/** The Tenant finalizer that guarantees teardown runs before a Tenant disappears. */
export const TENANT_FINALIZER = "kleff.io/namespace-finalizer";

/**
 * Tenant annotation: the namespace the operator is about to create for the Tenant (its claim, set
 * with the finalizer before the create), standing in for `status.namespace` until the status
 * records the created namespace (ARCHITECTURE.md §4).
 */
export const NAMESPACE_CLAIM_ANNOTATION = "kleff.io/namespace-claim";

/** Namespace annotation marking ownership: its value is the owning Tenant's uid. */
export const TENANT_UID_ANNOTATION = "kleff.io/tenant-uid";

/** Namespace label: the owning Tenant's name. */
export const TENANT_LABEL = "kleff.io/tenant";
/** Namespace label: the Tenant's `spec.username`. */
export const TENANT_USERNAME_LABEL = "kleff.io/tenant-username";
/** Namespace label: the Tenant's `spec.plan`. */
export const TENANT_PLAN_LABEL = "kleff.io/tenant-plan";
/** Namespace label: which tool manages the namespace (the operator's namespace watch selects on it). */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
/** The value of {@linkcode MANAGED_BY_LABEL} on tenant namespaces. */
export const MANAGED_BY_VALUE = "kleff-tenant-operator";
/** Namespace label asking Istio to inject sidecars. */
export const ISTIO_INJECTION_LABEL = "istio-injection";
/** The value of {@linkcode ISTIO_INJECTION_LABEL} on tenant namespaces. */
export const ISTIO_INJECTION_VALUE = "enabled";
/** Namespace label set when a Tenant with `deletionPolicy: Retain` lets its namespace go. */
export const ORPHANED_LABEL = "kleff.io/orphaned";

/** The Pod Security Admission namespace labels set to the plan's level (enforce, audit, warn). */
export const POD_SECURITY_LABELS: readonly string[] = [
  "pod-security.kubernetes.io/enforce",
  "pod-security.kubernetes.io/audit",
  "pod-security.kubernetes.io/warn",
];

/**
 * The managed labels that say who owns a namespace: stripped on `Retain`. The guard-rail labels
 * (Pod Security, Istio injection) stay on a retained namespace, like its quota and policies, so
 * workloads left in it keep running under the same rules.
 */
export const OWNERSHIP_LABEL_KEYS: readonly string[] = [
  TENANT_USERNAME_LABEL,
  TENANT_PLAN_LABEL,
  TENANT_LABEL,
  MANAGED_BY_LABEL,
];

/** Prefix of every per-tenant object's name (`kleff-quota`, `kleff-isolation`, ...). */
export const OBJECT_NAME_PREFIX = "kleff-";
