// The pure reconcile decisions of the tenant operator: GET the namespace `tenantNamespaceName`
// names, call `decide`, execute the Decision (its JSDoc is the executor's contract), and on a
// failed action execute `decideFailure` instead.
//
// Growth (plans, isolation, policy): each kind of per-tenant object gets its own step module like
// namespace.ts (desired objects, a diff to create/patch/delete actions, one ConditionInput);
// decide.ts appends its actions after the namespace's and its condition before the TenantReady
// summary, and teardown.ts deletes its cluster-scoped objects.
export {
  type Action,
  type AddFinalizerAction,
  type CreateAction,
  type Decision,
  type DeleteAction,
  describeAction,
  type MergePatch,
  type PatchAction,
  type RemoveFinalizerAction,
  type Requeue,
  type TenantEvent,
} from "./actions.ts";
export {
  buildConditions,
  type ConditionInput,
  formatTime,
  MAX_MESSAGE_LENGTH,
  statusEqual,
  summarize,
} from "./conditions.ts";
export {
  decide,
  type DecideOptions,
  DEFAULT_CONFLICT_REQUEUE_SECONDS,
  DEFAULT_TERMINATING_REQUEUE_SECONDS,
  type Observed,
  tenantNamespaceName,
} from "./decide.ts";
export { transitionEvents } from "./events.ts";
export { type ActionFailure, decideFailure, type FailureOptions } from "./failure.ts";
export { type MetadataChanges, metadataPatch, type MetadataView } from "./metadata_patch.ts";
export {
  desiredNamespaceAnnotations,
  desiredNamespaceLabels,
  namespaceOwnership,
  type NamespaceView,
  type Ownership,
  readNamespace,
} from "./namespace.ts";
export { readTenant, type TenantReading, type TenantView } from "./spec.ts";
