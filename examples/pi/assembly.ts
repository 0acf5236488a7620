/**
 * Assembling Pi digits from term fragments that arrive in any order: the math of the post-processor.
 *
 * Fragments are the binary-splitting sums {P, Q, T} of term ranges [a, b) (batch paglets compute them).
 * Those that continue the contiguous prefix [0, prefixEnd) go onto a balanced stack: a new block merges
 * with the one below it while that one is not much larger, so every multiplication joins operands of
 * similar size (a binary counter over fragments), and the bottom block always covers at least half of
 * the prefix. Early digits are streamed from the bottom block alone, which needs no extra merge.
 *
 * Once every term is in, the blocks are split into a left and a right part of similar size and finished
 * with the halves method of halves.ts: pi = V/(1 + ε) = V − δ, with V from the left part and δ from it
 * and the right part's ratio u = T/Q (both may come ready-made: a batch's left part, an EndCorrection),
 * then the decimal conversion split between this thread and `helper` (worker 0 of a pool). That avoids
 * the final full-size merge, the step that makes a naive combination of batches slower than a
 * single-machine run.
 *
 * Digits are certified (digits.ts); in the rare case the terms cannot decide the last ones (a run of 9s
 * or 0s right after the window), finishing answers `needTerms` and waits for fragments up to there.
 *
 * @module
 */
import { gmpEngine } from "./gmp_engine.ts";
import { mergeAll, mergeRanges, splitTerms, type TermSums } from "./chudnovsky.ts";
import { bitLength } from "./bigmath.ts";
import { fractionDigits } from "./decimal.ts";
import { convertWindow, warmConversion } from "./split_conversion.ts";
import {
  certainDigits,
  certifyWindow,
  InsufficientTermsError,
  MAX_RETRIES,
  piFixedPoint,
  planWindow,
  SqrtCache,
  windowFraction,
  type WindowPlan,
} from "./digits.ts";
import { correction, type LeftPart, leftPart, rightRatio } from "./halves.ts";
import type { TaskRunner } from "./task_port.ts";

/** The digit window of a job and how it is cut into terms. */
export interface AssemblyJob {
  /** First position (0 is the "3"). */
  start: number;
  /** Number of digits. */
  digits: number;
  /** Terms [0, terms) are summed (termsForDigits, or more after a needTerms answer). */
  terms: number;
  /** Digits streamed before the end come in pieces of at least this many (the first one at most). */
  chunk: number;
  /**
   * First term of the last batch, when known: once every term before it is in, the left part of the
   * end is computed at once, while the last batch still runs. 0 = not known.
   */
  splitAt?: number;
}

/** The sums of one term range; the range that ends the series may come without P (P = 0n). */
export interface TermFragment {
  a: number;
  b: number;
  sums: TermSums;
  /** Its ratio T/Q as u·2^ratioScale(bits, a) (halves.ts), computed where it was summed. */
  ratio?: { bits: number; value: bigint };
  /** The range [0, b) as the left part of the end (halves.ts), computed where it was summed. */
  left?: LeftPart;
}

/**
 * The correction δ of the end (halves.ts), computed beside the ratio of the last batch [m, n) as soon as
 * the left part [0, m) was known too (the pi-math service does, see math_service.ts).
 */
export interface EndCorrection {
  m: number;
  bits: number;
  value: bigint;
}

/** An end's correction, or its promise while it is still computed elsewhere (undefined: none came). */
export type EndCorrectionSoon = EndCorrection | Promise<EndCorrection | undefined>;

/** What adding a fragment produced. */
export interface AssemblyUpdate {
  /** New digits, formatted: position 0 is followed by ".". Empty when nothing new is certain. */
  text: string;
  /** Digits of the window emitted so far (including `text`). */
  emitted: number;
  /** Terms [0, prefixTerms) are in. */
  prefixTerms: number;
  /** Every digit of the window has been emitted. */
  done: boolean;
  /** The terms cannot certify the last digits: extend the series to this many terms. */
  needTerms?: number;
}

/** A block merges with the one below it while that one has at most this many times its bits. */
const MERGE_RATIO = 1.5;
/** Terms added per needTerms round (times the round number). */
const EXTRA_TERMS = 4;

/** Formats digits starting at `position`: the "3" at position 0 gets its decimal point. */
export function formatDigits(position: number, digits: string): string {
  return position === 0 && digits.length > 0 ? `${digits[0]}.${digits.slice(1)}` : digits;
}

export class PiAssembly {
  readonly #job: AssemblyJob;
  readonly #helper: TaskRunner | undefined;
  readonly #sqrt = new SqrtCache();
  /** Contiguous blocks covering [0, prefixEnd), bottom first. */
  #stack: TermFragment[] = [];
  /** Fragments past the prefix, by start term. */
  readonly #pending = new Map<number, TermFragment>();
  #prefixEnd = 0;
  /** Next position to emit. */
  #next: number;
  #terms: number;
  #rounds = 0;
  /** The left part of the end, prepared early (see AssemblyJob.splitAt). */
  #left: LeftPart | undefined;
  /** The correction for that left part and the last batch's ratio, when computed elsewhere. */
  #delta: EndCorrection | undefined;
  /** The end's correction when it is still being computed elsewhere (see add). */
  #deltaComing: Promise<EndCorrection | undefined> | undefined;
  #warmed = false;

  /** `helper`: a thread (worker 0 of a pool) that converts part of the digits at the end (none: all here). */
  constructor(job: AssemblyJob, helper?: TaskRunner) {
    for (const [name, value] of Object.entries(job)) {
      if (!Number.isInteger(value) || value < 0) {
        throw new RangeError(
          `Cannot assemble Pi digits as '${name}' must be a whole number ≥ 0: current value is ${value}`,
        );
      }
    }
    if (job.terms < 1) throw new RangeError("Cannot assemble Pi digits from 0 terms");
    this.#job = { ...job };
    this.#helper = helper;
    this.#next = job.start;
    this.#terms = job.terms;
  }

  get emitted(): number {
    return this.#next - this.#job.start;
  }

  get done(): boolean {
    return this.#next >= this.#job.start + this.#job.digits;
  }

  /**
   * Precomputes what the end needs and only the digit count decides (the powers of five of the final
   * conversion, here and on the helper), so that the end finds them ready. prepare() calls it after the
   * first fragment, in time the thread would otherwise wait for the next one; a second call does nothing.
   */
  warm(): void {
    const { start, digits } = this.#job;
    if (this.#warmed || digits === 0 || this.done) return;
    this.#warmed = true;
    const plan = planWindow(this.#terms, this.#next, start + digits - this.#next);
    const fracDigits = plan.last - Math.max(this.#next, 1) + 1;
    // The helper may still be summing a batch: its part waits in its queue, nobody waits for it.
    warmConversion(fracDigits, this.#helper);
  }

  /**
   * Adds the sums of [a, b); duplicates and ranges already covered are ignored. `splitAt` updates the
   * first term of the last batch (see AssemblyJob.splitAt); `delta` is the end's correction when it was
   * computed elsewhere (see EndCorrection), or its promise while it still is: the fragment need not
   * wait for it, the end does (a promise that resolves to undefined lets the end compute it here).
   */
  async add(
    fragment: TermFragment,
    splitAt?: number,
    delta?: EndCorrectionSoon,
  ): Promise<AssemblyUpdate> {
    if (splitAt !== undefined) this.#job.splitAt = splitAt;
    if (delta instanceof Promise) this.#deltaComing = delta;
    else if (delta) this.#delta = delta;
    const { a, b } = fragment;
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b <= a) {
      throw new RangeError(`Cannot add the term range [${a}, ${b})`);
    }
    if (fragment.left && (a !== 0 || fragment.left.m !== b)) {
      throw new RangeError(`The left part of [0, ${fragment.left.m}) came with the term range [${a}, ${b})`);
    }
    this.#left ??= fragment.left;
    if (a >= this.#prefixEnd && !this.#pending.has(a) && !this.done) this.#pending.set(a, fragment);
    if (this.done) return this.#update("");
    if (this.#coveredTo() >= this.#terms) return await this.#finish();
    const bottom = this.#stack[0]?.b;
    while (this.#pending.has(this.#prefixEnd)) {
      const next = this.#pending.get(this.#prefixEnd)!;
      this.#pending.delete(this.#prefixEnd);
      this.#push(next);
      this.#prefixEnd = next.b;
    }
    return this.#update(this.#stack[0]?.b !== bottom ? this.#stream() : "");
  }

  /**
   * The end's √10005 ahead of it, on this thread: when the GMP engine computes here (gmp_engine.ts),
   * the batch that brings the left part of the end runs on this thread too and finds it ready.
   */
  prepareRoot(): void {
    const plan = planWindow(this.#terms, this.#next, this.#job.start + this.#job.digits - this.#next);
    gmpEngine()?.prepareRoot(plan.bits);
  }

  /**
   * Work for the end that can be done before it, to run after answering add() (so new digits are not
   * held back by it): once every term before the last batch is in, the left part of the end (see
   * AssemblyJob.splitAt); and the powers of the final conversion (warm()).
   */
  prepare(): void {
    const lastBatch = this.#job.splitAt ?? 0;
    if (lastBatch > 0 && this.#prefixEnd === lastBatch && !this.#left && !this.done) {
      const plan = planWindow(this.#terms, this.#next, this.#job.start + this.#job.digits - this.#next);
      const last = this.#stack.length - 1;
      const left = last === 0 ? withP(this.#stack[0]) : mergeAll(this.#stack.map(withP));
      this.#left = leftPart(left, lastBatch, plan.bits, this.#sqrt.get(plan.bits));
    }
    if (this.#prefixEnd > 0) this.warm();
  }

  /** Emits every digit the contiguous prefix makes certain, whatever it costs (a failed job keeps them). */
  flush(): AssemblyUpdate {
    const blocks = this.#stack;
    if (this.done || blocks.length === 0) return this.#update("");
    const last = blocks.length - 1;
    const sums = last === 0 ? blocks[0].sums : mergeAll(blocks.map((f, i) => i < last ? withP(f) : f.sums));
    const end = this.#job.start + this.#job.digits;
    return this.#update(this.#emit(certainDigits(sums, this.#prefixEnd, this.#next, end, this.#sqrt)));
  }

  /** Where the fragments in hand reach, contiguously from 0. */
  #coveredTo(): number {
    let end = this.#prefixEnd;
    while (this.#pending.has(end)) end = this.#pending.get(end)!.b;
    return end;
  }

  #push(block: TermFragment): void {
    const stack = this.#stack;
    stack.push(block);
    while (
      stack.length >= 2 &&
      bitLength(stack[stack.length - 2].sums.Q) <= MERGE_RATIO * bitLength(stack[stack.length - 1].sums.Q)
    ) {
      const right = stack.pop()!;
      const left = stack.pop()!;
      stack.push({ a: left.a, b: right.b, sums: mergeRanges(withP(left), right.sums) });
    }
  }

  /**
   * Early digits from the bottom block: at most max(chunk, digits emitted so far) at a time, so the
   * stream doubles while its cost (proportional to the digits it converts) stays a fraction of the end's.
   */
  #stream(): string {
    const bottom = this.#stack[0];
    const end = this.#job.start + this.#job.digits;
    const upTo = Math.min(end, this.#next + Math.max(this.#job.chunk, this.emitted));
    const digits = certainDigits(bottom.sums, bottom.b, this.#next, upTo, this.#sqrt);
    return this.#emit(digits);
  }

  #emit(digits: string): string {
    const text = formatDigits(this.#next, digits);
    this.#next += digits.length;
    return text;
  }

  #update(text: string, needTerms?: number): AssemblyUpdate {
    return { text, emitted: this.emitted, prefixTerms: this.#prefixEnd, done: this.done, needTerms };
  }

  /** Every term is in: the rest of the window from all blocks. */
  async #finish(): Promise<AssemblyUpdate> {
    // A correction under way elsewhere is waited for, not computed again here.
    const coming = this.#deltaComing;
    this.#deltaComing = undefined;
    const delta = await coming;
    if (delta) this.#delta = delta;
    const blocks = [...this.#stack];
    for (let end = this.#prefixEnd; this.#pending.has(end);) {
      const f = this.#pending.get(end)!;
      this.#pending.delete(end);
      blocks.push(f);
      end = f.b;
    }
    this.#stack = blocks;
    this.#prefixEnd = blocks[blocks.length - 1].b;
    if (this.done) return this.#update("");
    const end = this.#job.start + this.#job.digits;
    const plan = planWindow(this.#prefixEnd, this.#next, end - this.#next);
    const raw = blocks.length === 1 ? this.#oneBlock(blocks[0].sums, plan) : await this.#halves(blocks, plan);
    try {
      return this.#update(this.#emit(certifyWindow(plan, raw)));
    } catch (e) {
      if (!(e instanceof InsufficientTermsError) || ++this.#rounds > MAX_RETRIES) throw e;
      // Keep what is certain, and ask for a few more terms to decide the rest.
      const certain = e.certified - plan.start;
      const text = certain > 0 ? this.#emit(raw.slice(0, certain)) : "";
      this.#terms = this.#prefixEnd + EXTRA_TERMS * this.#rounds;
      return this.#update(text, this.#terms);
    }
  }

  /** One block over [0, n): the plain formula on this thread. */
  #oneBlock(sums: TermSums, plan: WindowPlan): string {
    const job = windowFraction(piFixedPoint(sums, plan.bits, this.#sqrt.get(plan.bits)), plan);
    return job.head + fractionDigits(job.frac, job.fracBits, job.digits);
  }

  /** pi = V/(1 + ε) from a left and a right part of similar size (see the module doc and halves.ts). */
  async #halves(blocks: TermFragment[], plan: WindowPlan): Promise<string> {
    const ready = this.#left;
    let k: number;
    let left: LeftPart;
    if (ready && ready.bits === plan.bits && blocks.some((f) => f.a === ready.m)) {
      // Prepared when the prefix reached the last batch: only the right part is new.
      k = blocks.findIndex((f) => f.a === ready.m);
      left = ready;
    } else {
      k = splitIndex(blocks);
      left = leftPart(
        mergeAll(blocks.slice(0, k).map(withP)),
        blocks[k].a,
        plan.bits,
        this.#sqrt.get(plan.bits),
      );
    }
    const rightBlocks = blocks.slice(k);
    const right = rightBlocks.length === 1
      ? rightBlocks[0].sums
      : mergeAll(rightBlocks.map((f, i) => i < rightBlocks.length - 1 ? withP(f) : f.sums));
    const { bits } = plan;
    const helper = this.#helper;
    const given = rightBlocks.length === 1 && rightBlocks[0].ratio?.bits === bits
      ? rightBlocks[0].ratio
      : undefined;
    const known = this.#delta;
    const delta = given && known?.m === left.m && known.bits === bits ? known.value : correction(
      given?.value ?? rightRatio({ P: 0n, Q: right.Q, T: right.T }, bits, left.m),
      left.correction,
    );
    const x = left.v - delta;
    return await convertWindow(windowFraction(x, plan), helper);
  }
}

/** A block that is about to be a left operand carries P; one summed without it (the old end) is redone. */
function withP(f: TermFragment): TermSums {
  return f.sums.P !== 0n ? f.sums : splitTerms(f.a, f.b, true);
}

/** Index k in [1, blocks.length) where the bits before and after are closest to equal. */
export function splitIndex(blocks: readonly TermFragment[]): number {
  const sizes = blocks.map((f) => bitLength(f.sums.Q));
  const total = sizes.reduce((s, x) => s + x, 0);
  let best = 1;
  let bestGap = Infinity;
  for (let k = 1, acc = sizes[0]; k < blocks.length; acc += sizes[k], k++) {
    const gap = Math.abs(2 * acc - total);
    if (gap < bestGap) {
      best = k;
      bestGap = gap;
    }
  }
  return best;
}
