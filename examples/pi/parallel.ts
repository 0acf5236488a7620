/**
 * Pi digits on both cores. The series is cut in two; a Web Worker sums the right half by binary splitting
 * while the calling thread sums the left half, and the halves are combined without a full merge (halves.ts).
 * The decimal conversion is split between the worker and the calling thread as well.
 *
 * This module only schedules; the arithmetic is the pure engine (chudnovsky.ts, digits.ts, decimal.ts), so
 * batch-worker paglets can call computeBatch and a post-processor can merge and stream digits with it.
 */
import { splitPoint, splitTerms, termsForDigits, type TermSums } from "./chudnovsky.ts";
import { fractionDigits } from "./decimal.ts";
import { convertWindow, warmConversion } from "./split_conversion.ts";
import {
  certifyWindow,
  defaultSqrtCache,
  InsufficientTermsError,
  MAX_RETRIES,
  piFixedPoint,
  planWindow,
  windowFraction,
  type WindowPlan,
} from "./digits.ts";
import { leftPart } from "./halves.ts";
import { PiWorkerPool } from "./worker_pool.ts";
import { gmpEngineFor } from "./gmp_engine.ts";

export { PiWorkerPool };

/** Below this many terms (~7,000 digits) threads cost more than they save. */
const PARALLEL_MIN_TERMS = 500;
/**
 * Share of the series (by size) summed as the left half, on the calling thread. The calling thread also owes
 * √10005 and V, and the worker starts ~20 ms late, so the worker gets the larger half. Measured end to end:
 * 0.42 is best up to a million digits (0.38 and 0.46 were ~15 ms slower there); at ten million the left half
 * is relatively cheaper and 0.50 was best (0.42 left the calling thread waiting 1.4 s for the worker).
 */
function leftShare(digits: number): number {
  return Math.min(0.55, 0.42 + 0.09 * Math.max(0, Math.log10(digits / 1e6)));
}

/**
 * Wall-clock milliseconds of each phase of computePiDigits, as seen by the calling thread. In the parallel
 * path the worker sums the right half meanwhile: `split` is the left half, `sqrt` √10005, `divide` forming
 * V = c·√10005·Q1/T1 and the correction's inputs, `merge` waiting for the correction δ and subtracting it
 * (halves.ts), `digits` the decimal conversion.
 */
export interface PhaseTimings {
  split: number;
  sqrt: number;
  merge: number;
  divide: number;
  digits: number;
  total: number;
}

/**
 * The sums of one batch of terms [a, b), P included so that the batch can be merged with the next one.
 * This is the unit of work of a batch-worker paglet; merge results with mergeRanges / mergeAll.
 */
export function computeBatch(a: number, b: number): TermSums {
  return splitTerms(a, b, true);
}

/**
 * Pi digits at positions [start, start + count) (position 0 is the "3"), on the calling thread and worker 0
 * of `pool` (a one-worker pool is created and closed here when none is given; small counts run on the calling
 * thread alone). Fills `timings` with the phase breakdown.
 */
export async function computePiDigits(
  count: number,
  options: { start?: number; pool?: PiWorkerPool; timings?: PhaseTimings } = {},
): Promise<string> {
  const start = options.start ?? 0;
  const t0 = performance.now();
  const timings = options.timings ?? { split: 0, sqrt: 0, merge: 0, divide: 0, digits: 0, total: 0 };
  if (count === 0) return "";
  let terms = termsForDigits(start, count);
  const pool = options.pool ?? (terms >= PARALLEL_MIN_TERMS ? new PiWorkerPool(1) : undefined);
  try {
    for (let attempt = 1;; attempt++) {
      const plan = planWindow(terms, start, count);
      const raw = await rawWindow(plan, pool, timings);
      try {
        const digits = certifyWindow(plan, raw);
        timings.total = performance.now() - t0;
        return digits;
      } catch (e) {
        if (!(e instanceof InsufficientTermsError) || attempt > MAX_RETRIES) throw e;
        terms += 2 * attempt; // a run of 9s or 0s right after the window: decide it with more terms
      }
    }
  } finally {
    if (pool && !options.pool) pool.close();
  }
}

/** Uncertified digits of a planned window (guard digits included). */
function rawWindow(
  plan: WindowPlan,
  pool: PiWorkerPool | undefined,
  timings: PhaseTimings,
): Promise<string> | string {
  if (!pool || plan.terms < PARALLEL_MIN_TERMS) return serialWindow(plan, timings);
  return parallelWindow(plan, pool, timings);
}

/** Everything on the calling thread. */
function serialWindow(plan: WindowPlan, timings: PhaseTimings): string {
  let t = performance.now();
  const sums = splitTerms(0, plan.terms, false);
  timings.split = performance.now() - t;
  t = performance.now();
  const sqrt = defaultSqrtCache.get(plan.bits);
  timings.sqrt = performance.now() - t;
  timings.merge = 0;
  t = performance.now();
  const x = piFixedPoint(sums, plan.bits, sqrt);
  timings.divide = performance.now() - t;
  t = performance.now();
  const job = windowFraction(x, plan);
  const digits = job.head + fractionDigits(job.frac, job.fracBits, job.digits);
  timings.digits = performance.now() - t;
  return digits;
}

/**
 * Two threads: the calling thread and worker 0. The worker sums the right half and reduces it to its ratio u
 * (halves.ts); the calling thread sums the left half, computes √10005 and, from the left half alone, V —
 * numerator, reciprocal of T1, division — and the inputs of the correction (on GMP when the thread has it,
 * as the worker's tasks do). Worker 0 then computes the
 * correction δ from them and u, and the calling thread subtracts it.
 * The conversion is split the same way: the worker converts the leading part straight from the truncated
 * fraction while the calling thread peels it off with one product and converts the rest.
 *
 * (A second worker for the left half measured slower: starting a worker costs ~20 ms of the calling thread,
 * and three busy threads on two cores only add switching and copying.)
 */
async function parallelWindow(plan: WindowPlan, pool: PiWorkerPool, timings: PhaseTimings): Promise<string> {
  const { bits, terms } = plan;
  let t = performance.now();
  const m = splitPoint(0, terms, leftShare(plan.last));
  const ratio = pool.run({ op: "splitRatio", m, n: terms, bits }, 0);
  // On GMP (gmp_engine.ts) the left half's sums, √10005 and its part of the end are one task, as on a
  // host's pi-math thread: the split phase counts all of it.
  const onGmp = gmpEngineFor(m)?.splitWithLeft(m, bits).left;
  const left = onGmp ? undefined : splitTerms(0, m, true);
  timings.split = performance.now() - t;
  t = performance.now();
  const sqrt = left ? defaultSqrtCache.get(bits) : 0n;
  timings.sqrt = performance.now() - t;
  t = performance.now();
  const fracDigits = plan.last - Math.max(plan.start, 1) + 1;
  const part = onGmp ?? leftPart(left!, m, bits, sqrt);
  const delta = pool.run({ op: "correction", input: part.correction, ratioOf: { a: m, b: terms, bits } }, 0);
  delta.catch(() => {}); // observed at once: the ratio's failure below would leave it unawaited
  // Worker 0 runs its tasks in order: the warm-up after the correction, before the digits.
  warmConversion(fracDigits, pool);
  timings.divide = performance.now() - t;
  t = performance.now();
  await ratio;
  const x = part.v - await delta;
  timings.merge = performance.now() - t;
  t = performance.now();
  const digits = await convertWindow(windowFraction(x, plan), pool);
  timings.digits = performance.now() - t;
  return digits;
}
