/**
 * The top of the computation when the series is summed in two halves [0, m) and [m, n) on two threads.
 *
 * Merging the halves and then dividing, pi = c·√10005·Q1·Q2 / (T1·Q2 + P1·T2), would need three products of
 * full-length numbers whose results are twice as long as the answer. Dividing through by Q1·Q2 instead,
 *
 *   pi = V / (1 + ε),   V = c·√10005·Q1 / T1,   ε = P1·u / T1,   u = T2 / Q2,
 *
 * and ε is about 2^(−47.1·m): with m near n/2 it needs only about half the precision of the result, and
 * 1/(1 + ε) = 1 − ε + ε² − … converges after two or three terms. The work splits into independent pieces that
 * can run on different threads:
 *  - V needs only the left half: the thread that summed it computes V while the other still sums the right;
 *  - u (a half-size division) is computed by the right half's own thread;
 *  - the left half's thread also forms W = P1/T1 and V·W from the reciprocal of T1 that V needed anyway
 *    (two half-size products), so that once u is known the correction δ = V·ε − V·ε² + … (ε = W·u) is
 *    one half-size product, V·W·u, plus a few much shorter ones: pi = V − δ.
 * Nothing of full length travels between the threads: W and V·W go one way and δ comes back, all about
 * half length.
 */
import { CHUD_A, PI_NUMERATOR, splitTerms, type TermSums } from "./chudnovsky.ts";
import { bitLength } from "./bigmath.ts";
import { divideApprox, divideWithReciprocal, reciprocal, reciprocalBitsFor } from "./division.ts";

/** Bits kept beyond the result's precision in the operands of the final division. */
const SLACK_BITS = 64;
/** ε is carried as round(ε·2^(bits + EPS_EXTRA)), far below one unit of the result. */
export const EPS_EXTRA = 24;

/** A number mant·2^exp. */
interface Scaled {
  mant: bigint;
  exp: number;
}

/** x cut to `keep` significant bits, as mant·2^exp. */
function cutTo(x: bigint, keep: number): Scaled {
  const exp = Math.max(0, bitLength(x) - keep);
  return { mant: x >> BigInt(exp), exp };
}

/** Line a numerator up with its divisor: returns n' with n'/d.mant ≈ n/d (the exponent difference moved into n'). */
function alignNumerator(n: Scaled, d: Scaled): bigint {
  const e = n.exp - d.exp;
  return e >= 0 ? n.mant << BigInt(e) : n.mant >> BigInt(-e);
}

/**
 * Scale k such that u·2^k, a few units off, moves T1 + P1·u by less than 2^−(bits + 70) relative:
 * |P1/T1| ≤ 2^(−47.11·(m−1)) / (0.99·A), since every term ratio is below 72/(C³/24) = 1728/640320³.
 */
export function ratioScale(bits: number, m: number): number {
  return Math.max(64, Math.ceil(bits + 72 - 47.11 * (m - 1) - Math.log2(0.99 * Number(CHUD_A))) + 4);
}

/** u = T2/Q2 as round(u·2^k) within a few units, for k = ratioScale(bits, m). */
export function rightRatio(right: TermSums, bits: number, m: number): bigint {
  const k = ratioScale(bits, m);
  const lt = bitLength(right.T);
  const lq = bitLength(right.Q);
  // The result has about lt − lq + k bits; operands need that many significant bits plus slack.
  const keep = Math.max(64, lt - lq + k) + SLACK_BITS;
  const t = cutTo(right.T < 0n ? -right.T : right.T, keep);
  const q = cutTo(right.Q, keep);
  const u = divideApprox(alignNumerator({ mant: t.mant, exp: t.exp + k }, q), q.mant);
  return right.T < 0n ? -u : u;
}

/** Sum the right half [m, n) and reduce it to its ratio u·2^k. */
export function splitRightRatio(m: number, n: number, bits: number): bigint {
  return rightRatio(splitTerms(m, n, false), bits, m);
}

/** The numerator c·(√10005·2^bits)·Q1 as mant·2^exp, with Q1 cut to the precision the result needs. */
function numeratorOperands(
  left: TermSums,
  bits: number,
  sqrt: bigint,
): { x: bigint; y: bigint; exp: number } {
  const q = cutTo(left.Q, bits + SLACK_BITS);
  return { x: PI_NUMERATOR * sqrt, y: q.mant, exp: q.exp };
}

/**
 * What the thread holding u needs to correct V (see correction): W = P1/T1 and V·W, each cut to the bits
 * that reach the result, with their scales.
 */
export interface CorrectionInput {
  /** W as w/2^epsShift per unit of u: ε·2^(bits + EPS_EXTRA) = w·u/2^epsShift. */
  w: bigint;
  epsShift: number;
  /** V·W as z: (V·ε)·2^bits = z·u/2^firstShift. */
  z: bigint;
  firstShift: number;
  bits: number;
}

/**
 * Precision of 1/T1 (relative bits) that ε needs: |ε| ≤ 2^(−47.11·(m−1)) · |u|/(0.99·A), so ε has at most
 * bits − 47.11·(m − 1) + EPS_EXTRA significant bits above one unit of the result.
 */
export function epsilonRecipBits(bits: number, m: number): number {
  return Math.max(64, Math.ceil(bits - 47.11 * (m - 1)) + EPS_EXTRA + 24);
}

/** round(a·b / 2^shift) to within a unit, multiplying only the bits that reach the result. */
function scaledProduct(a: bigint, b: bigint, shift: number): bigint {
  const len = bitLength(a) + bitLength(b) - shift;
  if (len <= 0) return 0n;
  const x = cutTo(a, len + 16);
  const y = cutTo(b, len + 16);
  const s = shift - x.exp - y.exp;
  const z = x.mant * y.mant;
  return s >= 0 ? z >> BigInt(s) : z << BigInt(-s);
}

/** W = P1/T1 and V·W from the left part's operands and V (both products cut to what ε can use). */
function correctionInput(ops: LeftOperands, v: bigint, m: number): CorrectionInput {
  const { recip, recipBits, t1, bits, p1 } = ops;
  // ε·2^(bits + EPS_EXTRA) = P1·u·(2^(tLen + recipBits)/t) / 2^shift for T1 = t·2^tExp.
  const tLen = bitLength(t1.mant);
  const shift = ratioScale(bits, m) + t1.exp + tLen + recipBits - (bits + EPS_EXTRA);
  const keep = epsilonRecipBits(bits, m) + 16;
  const s1 = Math.max(0, bitLength(p1) + bitLength(recip) - keep);
  const w = scaledProduct(p1, recip, s1);
  const s2 = Math.max(0, bitLength(v) + bitLength(w) - keep);
  const z = scaledProduct(v, w, s2);
  // (V·ε)·2^bits = v·(ε·2^(bits + EPS_EXTRA)) / 2^(bits + EPS_EXTRA) = v·w·u / 2^(shift − s1 + bits + EPS_EXTRA).
  return { w, epsShift: shift - s1, z, firstShift: shift - s1 + bits + EPS_EXTRA - s2, bits };
}

/**
 * δ·2^bits with pi = V − δ, from u·2^ratioScale(bits, m): δ = V·ε − V·ε² + … = first − first·ε + …, where
 * the first term V·ε is one product (z·u) and the later ones, each 47·m bits shorter, need ε only to their
 * own length.
 */
export function correction(u: bigint, c: CorrectionInput): bigint {
  const e = c.bits + EPS_EXTRA;
  const first = scaledProduct(c.z, u, c.firstShift);
  const epsLen = bitLength(c.w) + bitLength(u) - c.epsShift;
  const secondLen = bitLength(first) + epsLen - e;
  if (first === 0n || secondLen <= 0) return first;
  // ε·2^(e − drop), to 32 bits beyond what the second term, first·ε, keeps.
  const drop = Math.max(0, epsLen - (secondLen + 32));
  const eps = scaledProduct(c.w, u, c.epsShift + drop);
  let delta = first;
  let term = first;
  for (let sign = -1;; sign = -sign) {
    term = scaledProduct(term, eps, e - drop);
    if (term === 0n) return delta;
    delta += sign < 0 ? -term : term;
  }
}

/**
 * The whole composition on one thread (parallel.ts and the assembly run the same steps spread over threads):
 * pi·2^bits from the left half's sums and the right half's ratio u·2^ratioScale(bits, m).
 */
export function piFromHalves(left: TermSums, u: bigint, m: number, bits: number, sqrt: bigint): bigint {
  const part = leftPart(left, m, bits, sqrt);
  return part.v - correction(u, part.correction);
}

/** What the end takes from the left part [0, m) alone, up to its division: 1/T1 and P1. */
interface LeftOperands {
  num: { x: bigint; y: bigint; exp: number };
  t1: Scaled;
  recip: bigint;
  recipBits: number;
  p1: bigint;
  bits: number;
}

/** The reciprocal of T1 (precise enough for both V and ε) and the other operands of the left part. */
function leftOperands(left: TermSums, m: number, bits: number, sqrt: bigint): LeftOperands {
  const num = numeratorOperands(left, bits, sqrt);
  const t1 = cutTo(left.T, bits + SLACK_BITS);
  const recipBits = Math.max(reciprocalBitsFor(bits + 4), epsilonRecipBits(bits, m));
  return { num, t1, recip: reciprocal(t1.mant, recipBits), recipBits, p1: left.P, bits };
}

/**
 * Everything the end needs from the left part [0, m) alone: V = c·√10005·Q1/T1 and the inputs of the
 * correction. The costliest step of the end, so it runs as soon as the left part is complete: on the thread
 * that summed it when it is one batch (tasks.ts `splitWithLeft`), else on the assembly's thread.
 */
export interface LeftPart {
  m: number;
  bits: number;
  v: bigint;
  correction: CorrectionInput;
}

/** Why a batch [a, b) cannot bring the left part of the end it was asked for (only [0, m) with P can), or null. */
export function misplacedLeftPart(
  r: { a: number; b: number; withP: boolean; leftBits?: number },
): string | null {
  return r.leftBits && (r.a !== 0 || !r.withP)
    ? `only a range [0, m) with P can be the left part of the end: [${r.a}, ${r.b})`
    : null;
}

/** The left part of the end for sums over [0, m), a result of `bits` bits and √10005·2^bits. */
export function leftPart(left: TermSums, m: number, bits: number, sqrt: bigint): LeftPart {
  const ops = leftOperands(left, m, bits, sqrt);
  const v = leftValue(ops);
  return { m, bits, v, correction: correctionInput(ops, v, m) };
}

/** V = 426880·√10005·Q1/T1 at 2^bits, from leftOperands: one product and one division. */
function leftValue({ num, t1, recip, recipBits }: LeftOperands): bigint {
  return divideWithReciprocal(
    alignNumerator({ mant: num.x * num.y, exp: num.exp }, t1),
    t1.mant,
    recip,
    recipBits,
  );
}
