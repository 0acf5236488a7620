import assert from "node:assert/strict";
import { GMP_MIN_DIGITS, gmpConverts, gmpDropDigits, gmpFractionDigits } from "./gmp_decimal.ts";
import { bitsForDigits, dropDigits, fractionDigits, truncatePart } from "./decimal.ts";
import { gmpStatus } from "./gmp.ts";
import { convertWindow } from "./split_conversion.ts";
import { runTask, type Task, type TaskResult } from "./tasks.ts";
import type { TaskRunner } from "./task_port.ts";

/** libgmp.so.10 comes with coreutils on every Debian and Ubuntu system; elsewhere these tests do not run. */
const linux = Deno.build.os === "linux";

/** A pseudo-random fraction of `bits` bits (a fixed seed: the same numbers every run). */
function fraction(bits: number, seed: number): bigint {
  let x = BigInt(seed) | 1n;
  const words: string[] = [];
  for (let i = 0; i < Math.ceil(bits / 64); i++) {
    x = (x * 6364136223846793005n + 1442695040888963407n) & 0xffff_ffff_ffff_ffffn;
    words.push(x.toString(16).padStart(16, "0"));
  }
  return BigInt.asUintN(bits, BigInt("0x" + words.join("")));
}

/** The first `digits` digits of frac / 2^bits, exactly, by V8's own toString. */
function reference(frac: bigint, bits: number, digits: number): string {
  return ((frac * 10n ** BigInt(digits)) >> BigInt(bits)).toString().padStart(digits, "0");
}

Deno.test({
  ignore: !linux,
  name: "GMP decimal digits are the exact floor, leading zeros and both shift directions included",
  fn: () => {
    assert.ok(gmpConverts(GMP_MIN_DIGITS), `libgmp not loaded: ${gmpStatus().reason}`);
    const digits = GMP_MIN_DIGITS + 123;
    const bits = bitsForDigits(digits);
    for (const seed of [1, 2, 3]) {
      const frac = fraction(bits, seed);
      assert.equal(gmpFractionDigits(frac, bits, digits), reference(frac, bits, digits), `seed ${seed}`);
    }
    // Leading zeros (a fraction below 10^-30), zero, the largest fraction, and fewer bits than digits.
    const small = fraction(bits - 110, 4);
    assert.equal(gmpFractionDigits(small, bits, digits), reference(small, bits, digits));
    assert.equal(gmpFractionDigits(0n, bits, digits), "0".repeat(digits));
    const top = (1n << BigInt(bits)) - 1n;
    assert.equal(gmpFractionDigits(top, bits, digits), "9".repeat(digits));
    const narrow = fraction(5_000, 5);
    assert.equal(gmpFractionDigits(narrow, 5_000, digits), reference(narrow, 5_000, digits));
  },
});

Deno.test({
  ignore: !linux,
  name: "GMP decimal digits refuse a fraction that is not below 1, and leave small conversions to BigInt",
  fn: () => {
    const digits = GMP_MIN_DIGITS;
    const bits = bitsForDigits(digits);
    assert.throws(() => gmpFractionDigits(1n << BigInt(bits), bits, digits), RangeError);
    assert.throws(() => gmpFractionDigits(-1n, bits, digits), RangeError);
    assert.equal(gmpFractionDigits(fraction(bits, 6), bits, digits - 1), null);
    assert.equal(gmpConverts(digits - 1), false);
  },
});

Deno.test({
  ignore: !linux,
  name: "dropping digits on GMP gives BigInt's frac·5^k mod 2^(bits−k)",
  fn: () => {
    const bits = 400_000;
    const frac = fraction(bits, 8);
    for (const k of [1, 17, 38_000, 120_000]) {
      const expected = BigInt.asUintN(bits - k, frac * 5n ** BigInt(k));
      assert.equal(gmpDropDigits(frac, bits, k), expected, `k ${k}`);
      assert.equal(dropDigits(frac, bits, k, false), expected);
    }
    assert.throws(() => gmpDropDigits(frac, bits, bits), RangeError);
    assert.throws(() => gmpDropDigits(frac, bits, 0), RangeError);
    assert.equal(gmpDropDigits(fraction(1_000, 9), 1_000, 10), null); // small: BigInt's
  },
});

/** The windows converted on two threads' shares below. */
const WINDOW_DIGITS = 100_000;
const WINDOW_BITS = bitsForDigits(WINDOW_DIGITS);

/** A helper thread's stand-in: runs `digits` tasks here, as a pool thread would (tasks.ts). */
function helperHere(fail = false): TaskRunner & { asked: number } {
  const helper = {
    asked: 0,
    run<T extends Task>(task: T): Promise<TaskResult<T>> {
      if (task.op !== "digits") return Promise.resolve(null as TaskResult<T>);
      helper.asked = task.digits;
      if (fail) return Promise.reject(new Error("pi worker pool closed"));
      return Promise.resolve(runTask(task));
    },
  };
  return helper;
}

Deno.test({
  ignore: !linux,
  name: "a window converted on two threads' shares (GMP) equals the whole conversion",
  fn: async () => {
    const [digits, bits] = [WINDOW_DIGITS, WINDOW_BITS];
    const frac = fraction(bits, 10);
    const whole = reference(frac, bits, digits);
    const helper = helperHere();
    assert.equal(await convertWindow({ head: "3", frac, fracBits: bits, digits }, helper), "3" + whole);
    assert.ok(
      helper.asked > 0 && helper.asked < digits,
      `the helper converts part of it (${helper.asked} digits)`,
    );
  },
});

Deno.test({
  ignore: !linux,
  name: "where the helper's truncated share may come out one unit low, the exact digits replace it",
  fn: async () => {
    const [digits, bits] = [WINDOW_DIGITS, WINDOW_BITS];
    const lead = Math.round(digits * 0.55);
    // frac/2^bits just above N/10^lead: its digits after the first `lead` are all but zero.
    const n = BigInt("1" + "2".repeat(lead - 1));
    const scale = 10n ** BigInt(lead);
    const frac = (n * (1n << BigInt(bits)) + scale - 1n) / scale;
    const whole = reference(frac, bits, digits);
    const helper = helperHere();
    assert.equal(await convertWindow({ head: "", frac, fracBits: bits, digits }, helper), whole);
    assert.equal(helper.asked, lead);
    // The helper's share, cut to the bits its digits need, is one unit low here.
    const part = truncatePart(frac, bits, lead);
    assert.notEqual(fractionDigits(part.frac, part.bits, part.digits), whole.slice(0, lead));
    // A helper that fails meanwhile changes nothing (its answer is not needed) and goes unreported.
    assert.equal(await convertWindow({ head: "", frac, fracBits: bits, digits }, helperHere(true)), whole);
  },
});
