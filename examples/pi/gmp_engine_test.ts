import assert from "node:assert/strict";
import { balancedBatches, splitPoint, splitTerms, termsForDigits } from "./chudnovsky.ts";
import { piFixedPoint, planWindow, SqrtCache } from "./digits.ts";
import { correction, leftPart, rightRatio } from "./halves.ts";
import { gmpEngine } from "./gmp_engine.ts";
import { gmp, gmpStatus, movesDigits, Registers, setBigInt, toBigInt } from "./gmp.ts";

const gmp_lib = () => gmp()!;
import { runTask } from "./tasks.ts";

const root = new URL("../../", import.meta.url).pathname;

/**
 * libgmp.so.10 comes with coreutils on every Debian and Ubuntu system, so the engine must find it
 * there; elsewhere these tests do not run.
 */
const linux = Deno.build.os === "linux";

function engine() {
  const found = gmpEngine();
  assert.ok(found, `libgmp not loaded: ${gmpStatus().reason}`);
  return found;
}

Deno.test({
  ignore: !linux,
  name: "GMP binary splitting gives exactly the BigInt sums, with and without P",
  fn: () => {
    const gmp = engine();
    for (const [a, b] of [[0, 1], [1, 2], [2, 3], [0, 2], [0, 7], [3, 9], [0, 300], [123, 1_000], [64, 65]]) {
      for (const withP of [true, false]) {
        assert.deepEqual(gmp.split(a, b, withP), splitTerms(a, b, withP), `[${a}, ${b}) withP ${withP}`);
      }
    }
  },
});

Deno.test({
  ignore: !linux,
  name: "GMP left part and ratio match the BigInt ones and give the same Pi",
  fn: () => {
    const gmp = engine();
    const cache = new SqrtCache();
    for (const digits of [2_000, 30_000]) {
      const n = termsForDigits(0, digits);
      const bits = planWindow(n, 0, digits).bits;
      const sqrt = cache.get(bits);
      const whole = piFixedPoint(splitTerms(0, n, false), bits, sqrt);
      for (const share of [0.4, 0.5]) {
        const m = splitPoint(0, n, share);
        const g = gmp.splitWithLeft(m, bits);
        const right = gmp.splitWithRatio(m, n, false, bits);
        assert.deepEqual(g.sums, splitTerms(0, m, true));
        assert.deepEqual(right.sums, splitTerms(m, n, false));
        const bigLeft = leftPart(g.sums, m, bits, sqrt);
        const u = rightRatio(right.sums, bits, m);
        const within = (x: bigint, y: bigint, units: bigint, what: string) =>
          assert.ok(x - y <= units && y - x <= units, `${digits} digits, m=${m}: ${what} off by ${x - y}`);
        within(g.left.v, bigLeft.v, 8n, "V");
        within(right.ratio, u, 8n, "the ratio");
        assert.equal(gmp.splitRatio(m, n, bits), right.ratio);
        const x = g.left.v - correction(right.ratio, g.left.correction);
        within(x, whole, 16n, "pi");
        within(correction(u, g.left.correction), correction(u, bigLeft.correction), 8n, "the correction");
        // The correction on GMP takes BigInt's steps: the very same δ.
        assert.equal(gmp.correction(u, g.left.correction), correction(u, g.left.correction));
        assert.equal(
          gmp.correction(right.ratio, bigLeft.correction),
          correction(right.ratio, bigLeft.correction),
        );
      }
    }
  },
});

Deno.test({
  ignore: !linux,
  name: "the batch tasks run on GMP and answer what the BigInt engine answers",
  fn: () => {
    engine();
    const n = termsForDigits(0, 20_000);
    const bits = planWindow(n, 0, 20_000).bits;
    const [left, right] = balancedBatches(n, 2);
    const task = runTask({ op: "splitWithLeft", m: left.b, bits });
    assert.deepEqual(task.sums, splitTerms(0, left.b, true));
    const withRatio = runTask({ op: "splitWithRatio", a: right.a, b: right.b, withP: false, bits });
    assert.deepEqual(withRatio.sums, splitTerms(right.a, right.b, false));
    assert.deepEqual(runTask({ op: "split", a: 10, b: 500, withP: true }), splitTerms(10, 500, true));
  },
});

Deno.test({
  ignore: !linux,
  name: "numbers cross between GMP and BigInt intact, as serialized digits on the pinned Deno",
  fn: () => {
    engine();
    assert.ok(movesDigits(), "Deno core's serialize/deserialize should carry the digits");
    const lib = gmp()!;
    const registers = new Registers(lib, 1);
    const values = [
      0n,
      1n,
      -1n,
      2n ** 63n,
      2n ** 64n - 1n,
      2n ** 64n,
      -(2n ** 64n),
      3n ** 4_000n,
      -(7n ** 30_001n),
    ];
    for (const value of values) {
      setBigInt(lib, registers.at(0), value);
      assert.equal(toBigInt(lib, registers.at(0)), value);
    }
    registers.reset();
    assert.equal(toBigInt(lib, registers.at(0)), 0n);
  },
});

Deno.test({
  ignore: !linux,
  name: "GMP ranges are checked like the BigInt ones",
  fn: () => {
    const gmp = engine();
    for (const [a, b] of [[5, 5], [-1, 3], [0, 1.5], [7, 2]]) {
      assert.throws(() => gmp.split(a, b, true), RangeError, `[${a}, ${b})`);
    }
    assert.throws(() => gmp.split(0, 20_000_000, true), /beyond the GMP engine's reach/);
    // A refused range leaves the engine usable.
    assert.deepEqual(gmp.split(0, 40, true), splitTerms(0, 40, true));
  },
});

Deno.test({
  ignore: !linux,
  name: "PAGLETS_PI_GMP=0 keeps the engine on BigInt alone, and says so",
  fn: async () => {
    const code = `import { gmpStatus } from "${root}examples/pi/gmp.ts";
import { gmpEngine } from "${root}examples/pi/gmp_engine.ts";
console.log(JSON.stringify({ status: gmpStatus(), engine: gmpEngine() !== null }));`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--quiet", code],
      env: { PAGLETS_PI_GMP: "0" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const seen = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.deepEqual(seen, {
      status: { available: false, reason: "turned off by PAGLETS_PI_GMP=0" },
      engine: false,
    });
  },
});

Deno.test({
  ignore: !linux,
  name: "requests beyond what BigInt can hold fail as RangeErrors; the thread goes on",
  fn: () => {
    const gmp = engine();
    assert.throws(() => gmp.splitWithLeft(100, 2 ** 31), RangeError);
    assert.throws(() => gmp.splitWithRatio(100, 200, false, -5), RangeError);
    assert.throws(() => gmp.splitRatio(100, 200, 1.5), RangeError);
    const n = termsForDigits(0, 2_000);
    const bits = planWindow(n, 0, 2_000).bits;
    const m = splitPoint(0, n);
    const left = gmp.splitWithLeft(m, bits).left;
    const u = gmp.splitRatio(m, n, bits);
    assert.throws(() => gmp.correction(u, { ...left.correction, firstShift: 2 ** 40 }), RangeError);
    gmp.prepareRoot(2 ** 40); // only a preparation: nothing to fail
    // A GMP number past 2^30 bits (V8's BigInt limit) is refused before V8 sees it.
    const lib = gmp_lib();
    const registers = new Registers(lib, 1);
    lib.__gmpz_set_d(registers.at(0), 1);
    lib.__gmpz_mul_2exp(registers.at(0), registers.at(0), BigInt(2 ** 30));
    assert.throws(() => toBigInt(lib, registers.at(0)), RangeError);
    registers.reset();
    assert.equal(correction(u, left.correction), gmp.correction(u, left.correction));
  },
});
