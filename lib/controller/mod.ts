// The public face of the controller layer: the tenant controller that executes decisions, and the
// Event recorder.
export {
  type EventApi,
  type EventDropReason,
  type EventRecord,
  EventRecorder,
  type EventRecorderOptions,
  type EventSubject,
  type EventType,
} from "./event_recorder.ts";
export {
  ReconcileError,
  TenantController,
  type TenantControllerOptions,
} from "./tenant_controller.ts";
