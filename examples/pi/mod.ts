/**
 * The distributed Pi example: its paglet types (every host knows them, see paglets.ts) and the typed
 * operations to drive a job. The CLI is `paglets examples pi` (command.ts); docs/examples/pi.md has
 * the architecture and a runnable script.
 *
 * @module
 */
export { PiBatchWorker, PiCoordinator, PiPostProcessor } from "./paglets.ts";
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
