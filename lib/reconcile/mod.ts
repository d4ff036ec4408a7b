// The pure reconcile decisions of the tenant operator: unless `isNewTenant` (then nothing is read),
// GET the namespace `tenantNamespaceName` names and run the LISTs `observations` asks for, call
// `decide`, execute the Decision stage by stage (its JSDoc is the executor's contract), and on a
// failed action execute `decideFailure` instead.
//
// Steps: namespace.ts (NamespaceReady, Pod Security labels), resources.ts (quota and limits:
// ResourcesReady), policies.ts (NetworkPolicy, Istio with mesh.ts, Gatekeeper: PoliciesReady),
// all per-tenant objects through managed.ts' one create/restore/prune rule; teardown.ts for
// deletion; audit.ts for restarts and resyncs (which tenants need a reconcile, from listed objects
// one at a time).
export {
  type Action,
  actionStages,
  type AddFinalizerAction,
  type ClaimNamespaceAction,
  claimOf,
  type CreateAction,
  type Decision,
  type DeleteAction,
  describeAction,
  isTenantPatch,
  type JsonPatchOperation,
  type MergePatch,
  type PatchAction,
  type RecordNamespaceAction,
  type RemoveFinalizerAction,
  type Requeue,
  type TenantEvent,
  type TenantPatchAction,
  tenantPatchApplies,
  type WithdrawClaimAction,
} from "./actions.ts";
export {
  buildConditions,
  type ConditionInput,
  MAX_MESSAGE_LENGTH,
  statusEqual,
  summarize,
} from "./conditions.ts";
export {
  DEFAULT_GATEWAY_HOSTS,
  DEFAULT_INGRESS_NAMESPACE,
  GATEKEEPER_CONSTRAINTS_GROUP,
  type Integrations,
  ISTIO_NETWORKING_GROUP,
  ISTIO_SECURITY_GROUP,
  ISTIO_SYSTEM_NAMESPACE,
  NO_INTEGRATIONS,
  observationKey,
  type PlanContext,
  sameIntegrations,
  servedKinds,
} from "./context.ts";
export {
  decide,
  decideAndPlan,
  type DecideOptions,
  type Observed,
  type PlannedDecision,
  tenantNamespaceName,
} from "./decide.ts";
export {
  auditTenant,
  observedContent,
  type PlannedObject,
  type SettledTenant,
  type TenantAudit,
  wouldPrune,
} from "./audit.ts";
export { transitionEvents } from "./events.ts";
export {
  firstOverlap,
  type HostClaim,
  hostClaimsMatter,
  type HostOverlap,
  tenantHosts,
} from "./hosts.ts";
export { type ActionFailure, decideFailure, type FailureOptions } from "./failure.ts";
export { type MetadataChanges, metadataPatch, type MetadataView } from "./metadata_patch.ts";
export {
  desiredNamespaceAnnotations,
  desiredNamespaceLabels,
  type NamespaceLabelsOptions,
  namespaceOwnership,
  type NamespaceView,
  type Ownership,
  readNamespace,
  waitsForNamespace,
} from "./namespace.ts";
export { readTenant, type TenantReading, type TenantView } from "./spec.ts";
export {
  type DesiredObject,
  isOwned,
  type ObjectView,
  type ObservedKind,
  ownedContent,
  type PlanStep,
  readObject,
  syncObjects,
  type SyncObjectsOptions,
  type SyncResult,
} from "./managed.ts";
export {
  desiredPeerAuthentication,
  desiredSidecar,
  LOCKDOWN_MESH,
  type MeshObjects,
  meshObjects,
  type MeshObjectsOptions,
  PEER_AUTHENTICATION_NAME,
  type PeerAuthenticationOptions,
  SIDECAR_NAME,
  sidecarEgressHosts,
  type SidecarEgressOptions,
  type SidecarOptions,
} from "./mesh.ts";
export { isNewTenant, type Observation, observations } from "./observe.ts";
export { ownedContentOf, type OwnedShape, ownedShape, type ShapedObject } from "./owned_content.ts";
export {
  AUTHORIZATION_POLICY_NAME,
  type AuthorizationPolicyOptions,
  constraintName,
  type ConstraintOptions,
  desiredAuthorizationPolicy,
  desiredConstraint,
  desiredGateway,
  desiredNetworkPolicy,
  GATEWAY_NAME,
  type GatewayOptions,
  INGRESS_GATEWAY_SELECTOR,
  LOCKDOWN_NETWORK,
  NETWORK_POLICY_NAME,
  type NetworkPolicyOptions,
  policiesStep,
  type PoliciesStepOptions,
  tlsCredentialName,
} from "./policies.ts";
export {
  desiredLimitRange,
  desiredQuota,
  type LimitRangeOptions,
  LIMITS_NAME,
  LOCKDOWN_QUOTA,
  planQuotaSummary,
  QUOTA_NAME,
  type QuotaOptions,
  quotaSummary,
  resourcesStep,
  type ResourcesStepOptions,
} from "./resources.ts";
