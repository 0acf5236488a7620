/**
 * The Pi paglet types, as the agent workers of a host started by the CLI load them
 * (examples/modules.ts): the classes only, with their operations' schemas loading in the background (lazy_operations.ts). Scripts import
 * mod.ts, which has the operations too.
 *
 * @module
 */
import { piOperations } from "./lazy_operations.ts";

export { PiCoordinator } from "./coordinator.ts";
export { PiBatchWorker } from "./batch_worker.ts";
export { PiPostProcessor } from "./post_processor.ts";

void piOperations().catch(() => {});
