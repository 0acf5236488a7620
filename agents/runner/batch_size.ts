/**
 * How many tasks go in a Runner's next batch. Every batch costs a few hops besides its tasks
 * (HTTP to the executor's host, the executor's worker, the compute worker and back), so a batch
 * should hold enough work to make those small; but a queue split into a few big batches ends
 * with one executor still busy while the others idle. So a batch holds about
 * {@linkcode TARGET_BATCH_MS} of work, and at most a share of the queue that shrinks as the queue
 * empties (guided self-scheduling): the last batches are small and the executors end about
 * together.
 *
 * @example
 * ```ts
 * import { batchLimit } from "./batch_size.ts";
 * batchLimit(3.3, 20, 2); // 5: a quarter of the queue (20 ms would be 6 tasks)
 * batchLimit(0.0003, 50_000, 2); // 4096: tiny tasks, as many as a batch may hold
 * ```
 *
 * @module
 */

/** Work per batch an executor aims at, in milliseconds: each batch costs a few hops besides. */
export const TARGET_BATCH_MS = 20;
/** Batches under way per executor. */
export const MAX_IN_FLIGHT = 2;
/** Tasks per batch at most. */
export const MAX_BATCH = 4096;
/** Batches shrink towards a share of the queue, but never below this much work, in milliseconds. */
const FLOOR_MS = 1;
/**
 * Batches take at most 1/(SHARE_SPLIT × executors) of the queue (guided self-scheduling): they
 * shrink as the queue empties, so the last ones are small and every executor ends about together.
 */
const SHARE_SPLIT = 2;

/** Tasks of the next batch, for tasks costing `costMs` each, `queued` waiting, `executors` taking. */
export function batchLimit(costMs: number, queued: number, executors: number): number {
  const byTime = Math.floor(TARGET_BATCH_MS / costMs);
  const floor = Math.floor(FLOOR_MS / costMs);
  const share = Math.ceil(queued / (SHARE_SPLIT * executors));
  return Math.max(1, Math.min(MAX_BATCH, byTime, Math.max(floor, share)));
}
