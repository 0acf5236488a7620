/**
 * The batch tasks of the Pi engine on GMP (gmp.ts): binary splitting of a term range, and the end's
 * pieces that follow it on the same thread (the left part, the right half's ratio), in one stretch of
 * GMP work each, so that only their results are converted to BigInt.
 *
 * Each function computes what its BigInt twin does (chudnovsky.ts splitTerms, halves.ts leftPart,
 * rightRatio and correction): the sums exactly the same; the left part and the ratio from exact
 * (truncated) divisions, within the few units the BigInt versions' contracts allow; the correction by
 * the same steps, so the same δ. A 1,000,000-digit job's left batch (its
 * sums and left part) takes about half the time it takes on BigInt alone.
 *
 * @module
 */
import {
  CHUD_A,
  CHUD_B,
  CHUD_C3_OVER_24,
  PI_NUMERATOR,
  splitPoint,
  SQRT_RADICAND,
  type TermSums,
} from "./chudnovsky.ts";
import { type CorrectionInput, EPS_EXTRA, epsilonRecipBits, type LeftPart, ratioScale } from "./halves.ts";
import { bitsOf, gmp, type GmpLib, MAX_BIGINT_BITS, Registers, setBigInt, signOf, toBigInt } from "./gmp.ts";

/** Levels of the binary-splitting recursion (a size-balanced split of 16 million terms needs 23). */
const DEPTH = 64;
/**
 * The largest term a leaf computes in doubles: (6k−5)(2k−1), k³'s odd part squared and A + B·k must
 * stay below 2^53 (A + B·k is the first to reach it, past 16.5 million terms: 234 million digits).
 */
const MAX_GMP_TERMS = 16_000_000;
/** The odd part of C³/24 (= 2^15 · C_ODD); Q's factors of two are counted apart, as in chudnovsky.ts. */
const C_ODD = Number(CHUD_C3_OVER_24 >> 15n);
const A = Number(CHUD_A);
const B = Number(CHUD_B);

/**
 * The precision (bits of the end's fixed-point numbers) and the shifts the engine takes: its results
 * must fit a BigInt, and a larger request must fail as a RangeError, not abort the process inside GMP.
 */
const MAX_BITS = MAX_BIGINT_BITS - 128;

function checkBits(bits: number): void {
  if (!Number.isSafeInteger(bits) || bits < 1 || bits > MAX_BITS) {
    throw new RangeError(`bad precision for the GMP engine: ${bits} bits`);
  }
}

function checkShift(shift: number): void {
  if (!Number.isSafeInteger(shift) || Math.abs(shift) > MAX_BITS) {
    throw new RangeError(`bad shift for the GMP engine: ${shift} bits`);
  }
}

/** Registers: P, Q (odd part), T per level, then three temporaries and the leaves' two factors. */
const P = (d: number) => 3 * d;
const Q = (d: number) => 3 * d + 1;
const T = (d: number) => 3 * d + 2;
const TMP_A = 3 * DEPTH;
const TMP_B = TMP_A + 1;
const TMP_C = TMP_A + 2;
/** A leaf's small factor, and the constant odd part of C³/24. */
const LEAF_FACTOR = TMP_A + 3;
const ODD_C = TMP_A + 4;

class GmpEngine {
  readonly #lib: GmpLib;
  readonly #r: Registers;
  /** Q's power of two per level: Q = Q(d)·2^e. */
  readonly #e = new Float64Array(DEPTH);
  /** √10005·2^bits for `#rootBits` (see prepareRoot), kept between tasks until its left part. */
  readonly #root: Registers;
  #rootBits = -1;

  constructor(lib: GmpLib) {
    this.#lib = lib;
    this.#r = new Registers(lib, 3 * DEPTH + 5);
    this.#root = new Registers(lib, 1);
  }

  /**
   * Computes √10005·2^bits = ⌊√(10005·4^bits)⌋ for a left part at `bits` (~22 ms at 1,000,000 digits),
   * ahead of the batch that will need it: an assembly opening on this thread asks for it while the
   * batches wait for their leases (assembly_server.ts). Kept until the left part at that precision
   * uses it or releaseRoot; a precision the engine does not take is left to fail there.
   */
  prepareRoot(bits: number): void {
    if (this.#rootBits === bits) return;
    try {
      checkBits(bits);
    } catch {
      return;
    }
    const g = this.#lib;
    const root = this.#root.at(0);
    this.#rootBits = -1;
    g.__gmpz_set_d(root, Number(SQRT_RADICAND));
    g.__gmpz_mul_2exp(root, root, BigInt(2 * bits));
    g.__gmpz_sqrt(root, root);
    this.#rootBits = bits;
  }

  /** Frees the root: once its left part used it, or when the assembly that asked for it closes. */
  releaseRoot(): void {
    this.#root.reset();
    this.#rootBits = -1;
  }

  split(a: number, b: number, withP: boolean): TermSums {
    return this.#task(() => {
      this.#sum(a, b, withP);
      return this.#sums(withP || b - a === 1);
    });
  }

  splitWithLeft(m: number, bits: number): { sums: TermSums; left: LeftPart } {
    checkBits(bits);
    return this.#task(() => {
      this.#sum(0, m, true);
      return { sums: this.#sums(true), left: this.#leftPart(m, bits) };
    });
  }

  splitWithRatio(a: number, b: number, withP: boolean, bits: number): { sums: TermSums; ratio: bigint } {
    checkBits(bits);
    return this.#task(() => {
      this.#sum(a, b, withP);
      return { sums: this.#sums(withP || b - a === 1), ratio: this.#ratio(a, bits) };
    });
  }

  splitRatio(m: number, n: number, bits: number): bigint {
    checkBits(bits);
    return this.#task(() => {
      this.#sum(m, n, false);
      return this.#ratio(m, bits);
    });
  }

  /** Runs one task on the registers, which it leaves empty (their digits freed) however it ends. */
  #task<R>(run: () => R): R {
    try {
      return run();
    } finally {
      this.#r.reset();
    }
  }

  /**
   * halves.ts correction: δ·2^bits from the right half's u·2^k and the left part's correction inputs,
   * by the same steps (floor shifts as BigInt's, so the same δ).
   */
  correction(u: bigint, c: CorrectionInput): bigint {
    checkBits(c.bits);
    checkShift(c.firstShift);
    checkShift(c.epsShift);
    const g = this.#lib;
    const r = this.#r;
    // The recursion's registers are free between tasks.
    const [ru, rz, rw, first, eps, term, delta] = [0, 1, 2, 3, 4, 5, 6].map((i) => r.at(i));
    return this.#task(() => {
      setBigInt(g, ru, u);
      setBigInt(g, rz, c.z);
      setBigInt(g, rw, c.w);
      const e = c.bits + EPS_EXTRA;
      this.#scaledProduct(first, rz, ru, c.firstShift);
      const epsLen = bitsOf(g, rw) + bitsOf(g, ru) - c.epsShift;
      const secondLen = bitsOf(g, first) + epsLen - e;
      if (signOf(first) === 0 || secondLen <= 0) return toBigInt(g, first);
      const drop = Math.max(0, epsLen - (secondLen + 32));
      this.#scaledProduct(eps, rw, ru, c.epsShift + drop);
      g.__gmpz_set(delta, first);
      g.__gmpz_set(term, first);
      for (let sign = -1;; sign = -sign) {
        this.#scaledProduct(term, term, eps, e - drop);
        if (signOf(term) === 0) return toBigInt(g, delta);
        (sign < 0 ? g.__gmpz_sub : g.__gmpz_add)(delta, delta, term);
      }
    });
  }

  /**
   * halves.ts scaledProduct: out ← a·b / 2^shift within a unit, from only the bits that reach it, with
   * BigInt's floor shifts (out may be a).
   */
  #scaledProduct(out: Deno.PointerObject, a: Deno.PointerObject, b: Deno.PointerObject, shift: number): void {
    const g = this.#lib;
    const la = bitsOf(g, a);
    const lb = bitsOf(g, b);
    const len = la + lb - shift;
    if (len <= 0) return g.__gmpz_set_d(out, 0);
    const [x, y] = [this.#r.at(TMP_A), this.#r.at(TMP_B)];
    const xExp = Math.max(0, la - (len + 16));
    const yExp = Math.max(0, lb - (len + 16));
    g.__gmpz_fdiv_q_2exp(x, a, BigInt(xExp));
    g.__gmpz_fdiv_q_2exp(y, b, BigInt(yExp));
    g.__gmpz_mul(out, x, y);
    const s = shift - xExp - yExp;
    if (s >= 0) g.__gmpz_fdiv_q_2exp(out, out, BigInt(s));
    else g.__gmpz_mul_2exp(out, out, BigInt(-s));
  }

  /** Sums over [a, b) into level 0 (Q as its odd part and this.#e[0]). */
  #sum(a: number, b: number, withP: boolean): void {
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b <= a) {
      throw new RangeError(`bad term range [${a}, ${b})`);
    }
    if (b > MAX_GMP_TERMS) throw new RangeError(`term range [${a}, ${b}) is beyond the GMP engine's reach`);
    const g = this.#lib;
    const r = this.#r;
    g.__gmpz_set_d(r.at(ODD_C), C_ODD);
    this.#split(a, b, 0, withP);
  }

  /**
   * Level 0 as BigInt sums (Q whole); P when `withP` (a single term's P comes with its leaf, asked
   * for or not, as splitTerms gives it).
   */
  #sums(withP: boolean): TermSums {
    const g = this.#lib;
    const r = this.#r;
    return {
      P: withP ? toBigInt(g, r.at(P(0))) : 0n,
      Q: toBigInt(g, r.at(Q(0))) << BigInt(this.#e[0]),
      T: toBigInt(g, r.at(T(0))),
    };
  }

  #split(a: number, b: number, d: number, withP: boolean): void {
    if (b - a === 1) return this.#leaf(a, d);
    if (d + 1 >= DEPTH) throw new RangeError(`term range [${a}, ${b}) splits deeper than ${DEPTH} levels`);
    const g = this.#lib;
    const r = this.#r;
    const m = splitPoint(a, b);
    this.#split(a, m, d, true);
    this.#split(m, b, d + 1, withP);
    // T = T_L·Q_R·2^e_R + P_L·T_R; P = P_L·P_R; Q = Q_L·Q_R (odd parts), e = e_L + e_R.
    const tmp = r.at(TMP_A);
    const right = d + 1;
    g.__gmpz_mul(tmp, r.at(T(d)), r.at(Q(right)));
    if (this.#e[right] > 0) g.__gmpz_mul_2exp(tmp, tmp, BigInt(this.#e[right]));
    g.__gmpz_mul(r.at(T(d)), r.at(P(d)), r.at(T(right)));
    g.__gmpz_add(r.at(T(d)), r.at(T(d)), tmp);
    if (withP) g.__gmpz_mul(r.at(P(d)), r.at(P(d)), r.at(P(right)));
    g.__gmpz_mul(r.at(Q(d)), r.at(Q(d)), r.at(Q(right)));
    this.#e[d] += this.#e[right];
  }

  /**
   * Term k (chudnovsky.ts leaf): p = −(6k−5)(2k−1)(6k−1), q = k³·C³/24, t = p·(A + Bk). Every factor
   * below 2^53 enters as a double: calls with only pointers and doubles take V8's fast path to C (~10
   * ns); a 64-bit integer argument costs ~80 ns.
   */
  #leaf(k: number, d: number): void {
    const g = this.#lib;
    const r = this.#r;
    const p = r.at(P(d));
    const q = r.at(Q(d));
    const t = r.at(T(d));
    if (k === 0) {
      g.__gmpz_set_d(p, 1);
      g.__gmpz_set_d(q, 1);
      g.__gmpz_set_d(t, A);
      this.#e[d] = 0;
      return;
    }
    const factor = r.at(LEAF_FACTOR);
    g.__gmpz_set_d(p, -(6 * k - 5) * (2 * k - 1));
    g.__gmpz_set_d(factor, 6 * k - 1);
    g.__gmpz_mul(p, p, factor);
    let odd = k;
    let twos = 0;
    while ((odd & 1) === 0) {
      odd >>= 1;
      twos++;
    }
    g.__gmpz_set_d(q, odd * odd);
    g.__gmpz_set_d(factor, odd);
    g.__gmpz_mul(q, q, factor);
    g.__gmpz_mul(q, q, r.at(ODD_C));
    this.#e[d] = 15 + 3 * twos;
    g.__gmpz_set_d(factor, A + B * k);
    g.__gmpz_mul(t, p, factor);
  }

  /**
   * halves.ts leftPart from level 0's sums over [0, m): V = 426880·√10005·Q1/T1 at 2^bits, and the
   * correction's W = P1/T1 and V·W at the scales CorrectionInput describes.
   */
  #leftPart(m: number, bits: number): LeftPart {
    const g = this.#lib;
    const r = this.#r;
    const p1 = r.at(P(0));
    const q1 = r.at(Q(0));
    const t1 = r.at(T(0));
    const [x, y, z] = [r.at(TMP_A), r.at(TMP_B), r.at(TMP_C)];
    g.__gmpz_mul_2exp(q1, q1, BigInt(this.#e[0]));
    // V = ⌊426880·√10005·2^bits·Q1 / T1⌋ (T1 > 0).
    this.prepareRoot(bits);
    g.__gmpz_mul_si(x, this.#root.at(0), PI_NUMERATOR);
    this.releaseRoot();
    g.__gmpz_mul(x, x, q1);
    g.__gmpz_tdiv_q(y, x, t1);
    const v = toBigInt(g, y);
    // W = P1·2^s/T1 with `keep` significant bits: ε·2^(bits + EPS_EXTRA) = W·u/2^epsShift for the
    // right half's u·2^k (k = ratioScale(bits, m)).
    const keep = epsilonRecipBits(bits, m) + 16;
    const s = keep - (bitsOf(g, p1) - bitsOf(g, t1));
    this.#shiftedQuotient(x, p1, s, t1);
    const epsShift = s - (bits + EPS_EXTRA - ratioScale(bits, m));
    // V·W cut to `keep` bits: z = V·W/2^s2; V is cut first to what reaches z.
    const lv = bitsOf(g, y);
    const s2 = Math.max(0, lv + bitsOf(g, x) - keep);
    const cut = Math.max(0, Math.min(s2, lv - (keep + 16)));
    g.__gmpz_tdiv_q_2exp(z, y, BigInt(cut));
    g.__gmpz_mul(z, z, x);
    g.__gmpz_tdiv_q_2exp(z, z, BigInt(s2 - cut));
    const correction: CorrectionInput = {
      w: toBigInt(g, x),
      epsShift,
      z: toBigInt(g, z),
      firstShift: epsShift + bits + EPS_EXTRA - s2,
      bits,
    };
    return { m, bits, v, correction };
  }

  /** halves.ts rightRatio from level 0's sums over [m, n): u = T2·2^k/Q2 truncated, k = ratioScale(bits, m). */
  #ratio(m: number, bits: number): bigint {
    const r = this.#r;
    const x = r.at(TMP_A);
    // Q2 = Q(0)·2^e
    this.#shiftedQuotient(x, r.at(T(0)), ratioScale(bits, m) - this.#e[0], r.at(Q(0)));
    return toBigInt(this.#lib, x);
  }

  /** out ← num·2^shift / den truncated; a negative shift goes to the divisor (through TMP_C). */
  #shiftedQuotient(
    out: Deno.PointerObject,
    num: Deno.PointerObject,
    shift: number,
    den: Deno.PointerObject,
  ): void {
    const g = this.#lib;
    checkShift(shift);
    if (shift >= 0) {
      g.__gmpz_mul_2exp(out, num, BigInt(shift));
      g.__gmpz_tdiv_q(out, out, den);
    } else {
      const divisor = this.#r.at(TMP_C);
      g.__gmpz_mul_2exp(divisor, den, BigInt(-shift));
      g.__gmpz_tdiv_q(out, num, divisor);
    }
  }
}

let engine: GmpEngine | null | undefined;

/** This thread's GMP engine, or null when GMP is not available (gmp.ts). */
export function gmpEngine(): GmpEngine | null {
  if (engine === undefined) {
    const lib = gmp();
    engine = lib ? new GmpEngine(lib) : null;
  }
  return engine;
}

/**
 * The engine for sums of a range ending at term `end`, when GMP is there and reaches it; else null,
 * and the caller sums on BigInt alone. Both give the same sums; the left part and the ratio agree
 * within the few units their contracts allow.
 */
export function gmpEngineFor(end: number): GmpEngine | null {
  const found = gmpEngine();
  return found && end <= MAX_GMP_TERMS ? found : null;
}

export type { GmpEngine };
