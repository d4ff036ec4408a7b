// The public face of the controller layer: the tenant controller that executes decisions, the
// record of its own writes (whose watch echoes need no reconcile), and the Event recorder.
export {
  type EventApi,
  type EventDropReason,
  type EventRecord,
  EventRecorder,
  type EventRecorderOptions,
  type EventSubject,
  type EventType,
} from "./event_recorder.ts";
export { ownWriteKey, OwnWrites } from "./own_writes.ts";
export {
  ReconcileError,
  TenantController,
  type TenantControllerOptions,
  tenantWriteKey,
} from "./tenant_controller.ts";
