// The public face of the work queue: keyed, coalescing, bounded, with per-key backoff and deadlines.
export {
  type RunningWork,
  type WorkHandler,
  WorkQueue,
  type WorkQueueOptions,
  type WorkResult,
  WorkTimeoutError,
} from "./work_queue.ts";
