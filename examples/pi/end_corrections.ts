/**
 * The correction of a job's end (halves.ts: pi = V − δ), computed by the pi-math service as soon as it
 * can be (math_service.ts).
 *
 * The batch [0, m) brings the left part of the end (V, W, V·W) and the last batch [m, n) its ratio u. As
 * soon as both are in on this host, δ (one half-size product) runs on a free pool thread, while the
 * batch results still travel through the paglets to the post-processor; the assembly then takes the
 * finished δ instead of computing it once the last fragment has arrived.
 *
 * When the left part comes while the last batch still runs on a pool thread here (its usual order),
 * δ is queued right behind that batch on its thread, which keeps the ratio for it (tasks.ts): δ then
 * starts the moment the batch ends, without u crossing to this thread and back (11–19 ms in timed
 * 1,000,000-digit runs). The ratio of a key ([a, b) at `bits` bits) is the same wherever it is
 * computed on one engine, and within the units halves.ts allows between GMP and BigInt, so the kept
 * one and the one the batch brings back may stand in for each other.
 *
 * @module
 */
import type { EndCorrection } from "./assembly.ts";
import type { LeftPart } from "./halves.ts";
import { ASSEMBLY_HOME, type PiWorkerPool } from "./worker_pool.ts";
import type { RatioKey } from "./tasks.ts";

interface Plan {
  /** The last batch [m, n) and its ratio u·2^ratioScale(bits, m). */
  last?: { m: number; bits: number; u: bigint };
  /** The last batch while it runs on pool thread `worker` (which keeps its ratio). */
  running?: RatioKey & { worker: number };
  left?: LeftPart;
  /** Under way or done; undefined again when it could not run (the assembly then computes δ). */
  delta?: Promise<EndCorrection | undefined>;
}

export class EndCorrections {
  readonly #plans = new Map<string, Plan>();
  readonly #pool: () => PiWorkerPool;

  constructor(pool: () => PiWorkerPool) {
    this.#pool = pool;
  }

  /** The last batch [m, n) of `key`'s job is done, with its ratio u for a result of `bits` bits. */
  lastBatch(key: string, m: number, bits: number, u: bigint): void {
    const plan = this.#plan(key);
    const last = plan.last;
    if (last && (last.m !== m || last.bits !== bits || last.u !== u)) plan.delta = undefined;
    plan.last = { m, bits, u };
    this.#schedule(plan);
  }

  /** The last batch [a, b) of `key`'s job, for a result of `bits` bits, starts on pool thread `worker`. */
  lastBatchRunning(key: string, running: RatioKey & { worker: number }): void {
    this.#plan(key).running = running;
  }

  /** The last batch of `key`'s job failed: its thread keeps no ratio for δ. */
  lastBatchFailed(key: string): void {
    const plan = this.#plans.get(key);
    if (plan) plan.running = undefined;
  }

  /** The left part of `key`'s end is known. */
  leftPart(key: string, left: LeftPart): void {
    const plan = this.#plan(key);
    if (plan.left && plan.left !== left) plan.delta = undefined;
    plan.left = left;
    this.#schedule(plan);
  }

  /** The correction of `key` if one is under way (waits for it: tens of ms), else undefined. */
  async get(key: string): Promise<EndCorrection | undefined> {
    return await this.#plans.get(key)?.delta;
  }

  /** The correction of `key` while one is under way or done (not waiting for it), else undefined. */
  pending(key: string): Promise<EndCorrection | undefined> | undefined {
    return this.#plans.get(key)?.delta;
  }

  /** Forgets `key` (its assembly closed). */
  drop(key: string): void {
    this.#plans.delete(key);
  }

  clear(): void {
    this.#plans.clear();
  }

  #plan(key: string): Plan {
    let plan = this.#plans.get(key);
    if (!plan) this.#plans.set(key, plan = {});
    return plan;
  }

  /**
   * Starts δ once both parts are in and they belong together, on a thread with nothing queued; or,
   * with the left part in while the last batch runs here, right behind that batch on its thread.
   */
  #schedule(plan: Plan): void {
    const { last, left, running } = plan;
    if (!left || plan.delta) return;
    // The thread that runs (or ran) the last batch keeps its ratio for this left part.
    const kept = running?.a === left.m && running.bits === left.bits ? running : undefined;
    if (!last) {
      if (kept) plan.delta = this.#correction(plan, { ratioOf: keyOf(kept) }, kept.worker);
      return;
    }
    if (left.m !== last.m || left.bits !== last.bits) return;
    // Not on the assemblies' worker when another is free: the fragment that completes the end is on
    // its way there meanwhile (assembly_client.ts add).
    const worker = this.#pool().freeWorker(ASSEMBLY_HOME);
    // Behind another job's batch it would wait longer than the assembly takes to compute it.
    if (worker === undefined) return;
    // On the thread that ran the last batch, δ takes the ratio kept there (freeing it) instead of u.
    plan.delta = this.#correction(
      plan,
      kept?.worker === worker ? { ratioOf: keyOf(kept) } : { u: last.u },
      worker,
    );
  }

  /**
   * δ of `plan`'s end from the ratio `from` gives or names, on pool thread `worker`; undefined (and
   * off the plan) if that fails.
   */
  #correction(
    plan: Plan,
    from: { u: bigint } | { ratioOf: RatioKey },
    worker: number,
  ): Promise<EndCorrection | undefined> {
    const { m, bits, correction: input } = plan.left!;
    const task = { op: "correction" as const, input, ...from };
    const delta: Promise<EndCorrection | undefined> = this.#pool().run(task, worker).then(
      (value): EndCorrection => ({ m, bits, value }),
      () => {
        if (plan.delta === delta) plan.delta = undefined;
        return undefined;
      },
    );
    return delta;
  }
}

function keyOf({ a, b, bits }: RatioKey): RatioKey {
  return { a, b, bits };
}
