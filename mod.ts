// The kleff tenant operator: run this file to start the operator; import it to run the operator
// from your own program or to use the Tenant API's names and types. The surface is deliberate:
// the operator's entry points and flags, and the Tenant resource with its keys and vocabulary.
import { main } from "./lib/operator/run.ts";

export { main, runOperator, type RunOptions } from "./lib/operator/run.ts";
export {
  type LeaderElectionFlags,
  type OperatorOptions,
  OptionsError,
  parseOperatorOptions,
} from "./lib/operator/options.ts";
export type { BindAddress } from "./lib/operator/endpoints.ts";
export type { CertificateFiles } from "./lib/operator/metrics_server.ts";
export type { PlanSource } from "./lib/operator/plan_source.ts";
export type { LogFormat, LogLevel } from "./lib/log.ts";
export {
  ConditionType,
  DEFAULT_DELETION_POLICY,
  DELETION_POLICIES,
  type DeletionPolicy,
  EventReason,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  ORPHANED_LABEL,
  Reason,
  type Tenant,
  TENANT_API_VERSION,
  TENANT_CRD_NAME,
  TENANT_FINALIZER,
  TENANT_GROUP,
  TENANT_KIND,
  TENANT_LABEL,
  TENANT_PLAN_LABEL,
  TENANT_PLURAL,
  TENANT_UID_ANNOTATION,
  TENANT_USERNAME_LABEL,
  TENANT_VERSION,
  type TenantSpec,
  type TenantStatus,
} from "./lib/api/mod.ts";
export type {
  Condition,
  FieldsV1,
  ManagedFieldsEntry,
  ObjectMeta,
  OwnerReference,
  Time,
} from "kubernetes-types/meta/v1.d.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
