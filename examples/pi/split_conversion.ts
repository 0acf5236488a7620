/**
 * The end's decimal conversion on two threads, for the assembly (assembly.ts) and the one-machine
 * engine (parallel.ts): a helper thread converts the window's first {@link LEAD_SHARE} of digits
 * straight from the truncated fraction, while this thread peels them off (one product) and converts
 * the rest.
 *
 * On GMP (gmp_decimal.ts) the two sides cost about the same at 0.55: in three timed 1,000,000-digit
 * runs the helper's ~550,000 digits took 35–47 ms, this thread's peel 9 ms and its ~450,000 digits
 * 26–27 ms. (At 0.62 the helper took 42–45 ms against 9 + 22–26; on BigInt the peel took ~20 ms and
 * 0.62 was even.) Below {@link PARALLEL_MIN_DIGITS} it all stays here.
 *
 * @module
 */
import { fractionDigits, pow5, skipDigits, truncatePart, warmPowers } from "./decimal.ts";
import type { PendingDigits } from "./digits.ts";
import { gmpConverts } from "./gmp_decimal.ts";
import type { TaskRunner } from "./task_port.ts";

/** Below this many decimals the conversion stays on one thread. */
export const PARALLEL_MIN_DIGITS = 20_000;
/** Share of the decimals the helper converts. */
export const LEAD_SHARE = 0.55;

/** How many of `digits` decimals the helper converts (0: none, too few to split). */
function leadDigitsOf(digits: number): number {
  return digits >= PARALLEL_MIN_DIGITS ? Math.round(digits * LEAD_SHARE) : 0;
}

/**
 * Prepares a later {@link convertWindow} of `digits` decimals where BigInt will convert them: the
 * powers of five it needs, here and on `helper` (its thread 0), whose warm-up waits in its queue.
 * Does nothing where GMP converts.
 */
export function warmConversion(digits: number, helper?: TaskRunner): void {
  const lead = helper ? leadDigitsOf(digits) : 0;
  if (gmpConverts(digits - lead)) return;
  if (lead > 0) void helper!.run({ op: "warm", digits: lead }, 0).catch(() => {/* only a warm-up */});
  warmPowers(digits - lead);
  if (lead > 0) pow5(lead); // peeling the lead digits off
}

/** The digits of a window (windowFraction), the first part converted on `helper` (its thread 0). */
export async function convertWindow(job: PendingDigits, helper?: TaskRunner): Promise<string> {
  const leadDigits = helper ? leadDigitsOf(job.digits) : 0;
  if (leadDigits === 0) return job.head + fractionDigits(job.frac, job.fracBits, job.digits);
  const leadText = helper!.run({ op: "digits", ...truncatePart(job.frac, job.fracBits, leadDigits) }, 0);
  // Observed at once: the rest below may throw before it is awaited, or the exact digits replace it.
  leadText.catch(() => {});
  const { right, exactLeft } = skipDigits(job.frac, job.fracBits, leadDigits, job.digits);
  const restText = fractionDigits(right.frac, right.bits, right.digits);
  return job.head + (exactLeft ?? await leadText) + restText;
}
