// The public face of the work queue: keyed, coalescing, bounded, with per-key backoff.
export {
  type WorkHandler,
  WorkQueue,
  type WorkQueueOptions,
  type WorkResult,
} from "./work_queue.ts";
