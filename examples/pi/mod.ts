/**
 * The distributed Pi example: paglet types every host knows (host/builtin_modules.ts) and the typed
 * operations to drive a job. The CLI is `paglets examples pi` (command.ts); docs/examples/pi.md has
 * the architecture and a runnable script.
 *
 * @module
 */
export { PiCoordinator } from "./coordinator.ts";
export { PiBatchWorker } from "./batch_worker.ts";
export { PiPostProcessor } from "./post_processor.ts";
export {
  MAX_DIGIT_POSITION,
  PI_CANCEL,
  PI_DRAIN_STREAM,
  PI_START_ASYNC,
  PI_SUMMARY,
  type PiDrainReply,
  type PiJobInput,
  type PiJobRequest,
  type PiProgress,
  type PiStartReply,
  type PiSummary,
} from "./operations.ts";
