/**
 * The correction of a job's end (halves.ts: pi = V − δ), computed by the pi-math service where the last
 * batch's ratio already is (math_service.ts).
 *
 * The last batch [m, n) keeps its ratio u on its thread under the job's key; the batch [0, m) brings the
 * left part of the end (V, W, V·W). As soon as both are known on this host, the correction δ, one
 * half-size product, is queued on that thread right behind the batch. So when the left part is ready
 * first (the batches are cut so that it is), δ costs no time after the last batch: it runs while the
 * batch results travel through the paglets instead of on the assembly thread once they arrive.
 *
 * @module
 */
import type { EndCorrection } from "./assembly.ts";
import type { LeftPart } from "./halves.ts";
import type { PiWorkerPool } from "./worker_pool.ts";

interface Plan {
  /** The last batch [m, n) for a result of `bits` bits, keeping its ratio on `worker`. */
  last?: { worker: number; m: number; bits: number; done: boolean };
  left?: LeftPart;
  /** Once both are known; undefined when the correction failed (the assembly then computes it). */
  delta?: Promise<EndCorrection | undefined>;
}

export class EndCorrections {
  readonly #plans = new Map<string, Plan>();
  readonly #pool: () => PiWorkerPool;

  constructor(pool: () => PiWorkerPool) {
    this.#pool = pool;
  }

  /** The last batch [m, n) of `key` runs on `worker`, keeping its ratio there under `key`. */
  lastBatch(key: string, worker: number, m: number, bits: number): void {
    this.#plan(key).last = { worker, m, bits, done: false };
    this.#schedule(key);
  }

  /** The last batch of `key` has finished (its correction, if queued, runs now). */
  lastBatchDone(key: string): void {
    const last = this.#plans.get(key)?.last;
    if (last) last.done = true;
  }

  /** The left part of `key`'s end is known. */
  leftPart(key: string, left: LeftPart): void {
    this.#plan(key).left = left;
    this.#schedule(key);
  }

  /**
   * The correction of `key` once it runs (waits for it: a few tens of ms), else undefined. While the last
   * batch still computes, undefined: an early fragment is not held back for the whole batch.
   */
  async get(key: string): Promise<EndCorrection | undefined> {
    const plan = this.#plans.get(key);
    return plan?.last?.done ? await plan.delta : undefined;
  }

  /** Forgets `key` (its assembly closed), dropping a ratio still kept for it. */
  drop(key: string, pool: PiWorkerPool | undefined): void {
    const plan = this.#plans.get(key);
    this.#plans.delete(key);
    if (plan?.last && !plan.delta) void pool?.run({ op: "forget", key }, plan.last.worker).catch(() => {});
  }

  clear(): void {
    this.#plans.clear();
  }

  #plan(key: string): Plan {
    let plan = this.#plans.get(key);
    if (!plan) this.#plans.set(key, plan = {});
    return plan;
  }

  #schedule(key: string): void {
    const plan = this.#plans.get(key);
    if (!plan?.last || !plan.left || plan.delta) return;
    const { worker, m, bits } = plan.last;
    if (plan.left.m !== m || plan.left.bits !== bits) return; // another cut: the assembly corrects itself
    plan.delta = this.#pool().run({ op: "correction", input: plan.left.correction, key }, worker)
      .then((value) => ({ m, bits, value }), () => undefined);
  }
}
