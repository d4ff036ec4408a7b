// The Tenant custom resource (kleff.kleff.io/v1): its names and TypeScript shape, in one place (ARCHITECTURE.md §3).
import type { Condition, ObjectMeta } from "kubernetes-types/meta/v1.d.ts";
import type { ResourceDescriptor } from "./resources.ts";

/** The API group of the Tenant resource. */
export const TENANT_GROUP = "kleff.kleff.io";
/** The only served (and storage) version. */
export const TENANT_VERSION = "v1";
/** `apiVersion` of Tenant objects. */
export const TENANT_API_VERSION = `${TENANT_GROUP}/${TENANT_VERSION}`;
/** The kind of Tenant objects. */
export const TENANT_KIND = "Tenant";
/** The resource (URL) name of Tenants. */
export const TENANT_PLURAL = "tenants";
/** The singular name of the resource, as kubectl accepts it. */
export const TENANT_SINGULAR = "tenant";
/** The CustomResourceDefinition's name. */
export const TENANT_CRD_NAME = `${TENANT_PLURAL}.${TENANT_GROUP}`;

/** How to reach Tenants through the API: cluster-scoped `kleff.kleff.io/v1` `tenants`. */
export const TENANT_RESOURCE: ResourceDescriptor = {
  group: TENANT_GROUP,
  version: TENANT_VERSION,
  plural: TENANT_PLURAL,
  kind: TENANT_KIND,
  namespaced: false,
};

/** What happens to the tenant namespace when the Tenant is deleted. */
export type DeletionPolicy = "Delete" | "Retain";

/** Every valid `spec.deletionPolicy`, the default first. */
export const DELETION_POLICIES: readonly DeletionPolicy[] = ["Delete", "Retain"];

/** The default `spec.deletionPolicy`. */
export const DEFAULT_DELETION_POLICY: DeletionPolicy = "Delete";

/** `spec` of a Tenant (after validation; see `readTenant` in lib/reconcile). */
export interface TenantSpec {
  /** The tenant namespace's name: a DNS-1123 label, immutable. */
  userId: string;
  /** The customer's user name: a valid label value. */
  username: string;
  /** The plan name: a valid label value. */
  plan: string;
  /** What happens to the namespace on deletion; default `Delete`. */
  deletionPolicy?: DeletionPolicy;
}

/** `status` of a Tenant, written only by the operator through the status subresource. */
export interface TenantStatus {
  /** The `metadata.generation` the status was computed from. */
  observedGeneration?: number;
  /**
   * The namespace this tenant owns: recorded with its uid once the operator has created it (before
   * a recreate, without the uid); until then the Tenant's claim annotation names it
   * (ARCHITECTURE.md §4).
   */
  namespace?: string;
  /**
   * The uid of the namespace the operator created for this tenant: a namespace is this
   * tenant's only when its uid is this one (ARCHITECTURE.md §4).
   */
  namespaceUID?: string;
  /** A one-line summary of the hard limits of the quota the operator applies to the namespace. */
  quota?: string;
  /** Standard conditions: `NamespaceReady`, `TenantReady`, ... */
  conditions?: Condition[];
}

/** A Tenant object as stored by the API server. */
export interface Tenant {
  /** Always `kleff.kleff.io/v1`. */
  apiVersion?: typeof TENANT_API_VERSION;
  /** Always `Tenant`. */
  kind?: typeof TENANT_KIND;
  /** Standard object metadata (cluster-scoped: no namespace). */
  metadata?: ObjectMeta;
  /** What the customer asked for. */
  spec?: TenantSpec;
  /** What the operator observed. */
  status?: TenantStatus;
}
