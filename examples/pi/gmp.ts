/**
 * GMP (libgmp, the GNU multiple precision library) through Deno FFI, for the Pi engine's batch tasks
 * (gmp_engine.ts) and its large decimal conversions (gmp_decimal.ts).
 *
 * V8's BigInt multiplies a 3.4M-bit pair in ~35 ms on this machine kind; GMP takes ~12 ms (its FFT
 * multiplication), and divides and takes square roots at a few multiplications' cost. Moving a number
 * between the two as hex text costs about one such product (~8 ms into GMP, ~13 ms out), so the engine
 * hands GMP whole stretches of work that start from small numbers (gmp_engine.ts) and converts only
 * their results.
 *
 * libgmp.so.10 is on every Debian and Ubuntu system (coreutils depends on it). Without it, or with
 * `PAGLETS_PI_GMP=0`, {@link gmp} returns null and the engine stays on BigInt alone.
 *
 * A result leaves GMP as its 64-bit digits, wrapped in the few bytes of V8's serialization format for
 * a BigInt and read by Deno core's `deserialize` (the structured-clone reader): a copy, ~5× cheaper
 * than hex text (~2.5 against ~13 ms for 3.4M bits); {@link setBigInt} goes the other way, from
 * `serialize`'s bytes. The codec is used once it has carried a set of probe numbers intact on the
 * thread, and every call checks the sign, the length and the lowest word, leaving any number it doubts
 * to hex text. A GMP number beyond V8's BigInt limit (2^30 bits) is a RangeError, as in BigInt.
 *
 * Numbers live in a thread's {@link Registers}: mpz_t structs in memory this module owns, their digits
 * allocated by GMP (C's heap, outside V8's) and freed by {@link Registers.reset}, which every task runs
 * when it ends. A worker terminated between tasks (the pi-math pool ends idle threads) leaves behind at
 * most the √10005 prepared for an assembly still open (gmp_engine.ts prepareRoot); one terminated in
 * the middle of a task (its host stopping) leaves that task's numbers.
 *
 * @module
 */

import { coreFunctions } from "../../agents/deno_core.ts";

const SYMBOLS = {
  __gmpz_init: { parameters: ["pointer"], result: "void" },
  __gmpz_clear: { parameters: ["pointer"], result: "void" },
  __gmpz_set: { parameters: ["pointer", "pointer"], result: "void" },
  __gmpz_set_d: { parameters: ["pointer", "f64"], result: "void" },
  __gmpz_set_str: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  __gmpz_get_str: { parameters: ["buffer", "i32", "pointer"], result: "pointer" },
  __gmpz_sizeinbase: { parameters: ["pointer", "i32"], result: "usize" },
  __gmpz_add: { parameters: ["pointer", "pointer", "pointer"], result: "void" },
  __gmpz_sub: { parameters: ["pointer", "pointer", "pointer"], result: "void" },
  __gmpz_mul: { parameters: ["pointer", "pointer", "pointer"], result: "void" },
  __gmpz_mul_si: { parameters: ["pointer", "pointer", "i64"], result: "void" },
  __gmpz_mul_2exp: { parameters: ["pointer", "pointer", "u64"], result: "void" },
  __gmpz_tdiv_q: { parameters: ["pointer", "pointer", "pointer"], result: "void" },
  __gmpz_tdiv_q_2exp: { parameters: ["pointer", "pointer", "u64"], result: "void" },
  __gmpz_sqrt: { parameters: ["pointer", "pointer"], result: "void" },
  __gmpz_ui_pow_ui: { parameters: ["pointer", "u64", "u64"], result: "void" },
  __gmpz_fdiv_q_2exp: { parameters: ["pointer", "pointer", "u64"], result: "void" },
  __gmpz_fdiv_r_2exp: { parameters: ["pointer", "pointer", "u64"], result: "void" },
  __gmpz_neg: { parameters: ["pointer", "pointer"], result: "void" },
  __gmpz_import: {
    parameters: ["pointer", "usize", "i32", "usize", "i32", "usize", "buffer"],
    result: "void",
  },
  __gmpz_export: {
    parameters: ["buffer", "buffer", "i32", "usize", "i32", "usize", "pointer"],
    result: "pointer",
  },
} as const;

/** The GMP functions the engine calls (mpz_t arguments are pointers into {@link Registers}). */
export type GmpLib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

const LIBRARY_NAMES: Partial<Record<typeof Deno.build.os, string[]>> = {
  linux: ["libgmp.so.10", "libgmp.so"],
  darwin: ["libgmp.10.dylib", "/opt/homebrew/lib/libgmp.10.dylib", "/usr/local/lib/libgmp.10.dylib"],
};

let loaded: GmpLib | null | undefined;
let unavailable = "";

/** libgmp's functions, or null (not installed, or `PAGLETS_PI_GMP=0`); loaded once per thread. */
export function gmp(): GmpLib | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  let setting: string | undefined;
  try {
    setting = Deno.env.get("PAGLETS_PI_GMP");
  } catch (err) {
    unavailable = `cannot read PAGLETS_PI_GMP: ${err instanceof Error ? err.message : err}`;
    return null;
  }
  if (setting === "0") {
    unavailable = "turned off by PAGLETS_PI_GMP=0";
    return null;
  }
  const errors: string[] = [];
  for (const name of LIBRARY_NAMES[Deno.build.os] ?? []) {
    try {
      loaded = Deno.dlopen(name, SYMBOLS).symbols;
      return loaded;
    } catch (err) {
      errors.push(`${name}: ${err instanceof Error ? err.message : err}`);
    }
  }
  unavailable = errors.length ? errors.join("; ") : `no libgmp name is known on ${Deno.build.os}`;
  return null;
}

/** Whether the engine uses GMP on this thread, and why not. */
export function gmpStatus(): { available: boolean; reason?: string } {
  return gmp() ? { available: true } : { available: false, reason: unavailable };
}

/** Bytes of one mpz_t (int alloc, int size, limb pointer) on the 64-bit platforms Deno runs on. */
const MPZ_BYTES = 16;

/**
 * A fixed set of mpz_t numbers. GMP grows their digits as results need; {@link reset} gives that
 * memory back (a thread keeps its registers between tasks, not their megabytes).
 */
export class Registers {
  readonly #lib: GmpLib;
  readonly #memory: BigUint64Array;
  readonly #slots: Deno.PointerObject[] = [];

  constructor(lib: GmpLib, count: number) {
    this.#lib = lib;
    // An ArrayBuffer of its own: its memory never moves (V8 may keep a small typed array's elements
    // in its heap, where a collection moves them), and GMP holds pointers into it between calls.
    this.#memory = new BigUint64Array(new ArrayBuffer(count * MPZ_BYTES));
    const base = Deno.UnsafePointer.of(this.#memory);
    if (!base) throw new Error("cannot address the GMP registers");
    for (let i = 0; i < count; i++) {
      const slot = Deno.UnsafePointer.offset(base, i * MPZ_BYTES) as Deno.PointerObject;
      lib.__gmpz_init(slot);
      this.#slots.push(slot);
    }
  }

  /** Register i. */
  at(i: number): Deno.PointerObject {
    const slot = this.#slots[i];
    if (!slot) throw new RangeError(`no GMP register ${i}`);
    return slot;
  }

  /** Frees every register's digits (each is 0 afterwards). */
  reset(): void {
    for (const slot of this.#slots) {
      this.#lib.__gmpz_clear(slot);
      this.#lib.__gmpz_init(slot);
    }
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Number of bits of |x| (0 for 0, as bigmath.ts bitLength). */
export function bitsOf(lib: GmpLib, x: Deno.PointerObject): number {
  return signOf(x) === 0 ? 0 : Number(lib.__gmpz_sizeinbase(x, 2));
}

/** −1, 0 or 1 as x is negative, zero or positive (the sign of mpz_t's _mp_size field). */
export function signOf(x: Deno.PointerObject): number {
  return Math.sign(new Deno.UnsafePointerView(x).getInt32(4));
}

/**
 * The most bits a BigInt may have in V8 (2^30). A larger GMP result must fail as BigInt arithmetic
 * fails (a RangeError), not reach V8's deserializer, which ends the process on it.
 */
export const MAX_BIGINT_BITS = 2 ** 30;

/** x ← value (see the module doc: serialized digits when this thread reads them, else hex text). */
export function setBigInt(lib: GmpLib, x: Deno.PointerObject, value: bigint): void {
  if (digitsCodec()?.write(lib, x, value)) return;
  const text = value < 0n ? "-" + (-value).toString(16) : value.toString(16);
  if (lib.__gmpz_set_str(x, encoder.encode(text + "\0"), 16) !== 0) {
    throw new Error("GMP refused a number's hex text");
  }
}

/** The value of x as a BigInt (see the module doc). */
export function toBigInt(lib: GmpLib, x: Deno.PointerObject): bigint {
  if (bitsOf(lib, x) > MAX_BIGINT_BITS) throw new RangeError("Maximum BigInt size exceeded");
  return digitsCodec()?.read(lib, x) ?? hexToBigInt(lib, x);
}

/** Through hex text, linear time. */
function hexToBigInt(lib: GmpLib, x: Deno.PointerObject): bigint {
  // sizeinbase is exact for base 16; one byte more for the sign and one for the terminating NUL.
  const buffer = new Uint8Array(Number(lib.__gmpz_sizeinbase(x, 16)) + 2);
  lib.__gmpz_get_str(buffer, 16, x);
  const end = buffer.indexOf(0);
  const negative = buffer[0] === 45; // "-"
  const digits = decoder.decode(buffer.subarray(negative ? 1 : 0, end));
  const magnitude = BigInt("0x" + digits);
  return negative ? -magnitude : magnitude;
}

/** Serialized digits one way or the other; undefined (read) or false (write) sends that call through hex. */
interface Codec {
  read(lib: GmpLib, x: Deno.PointerObject): bigint | undefined;
  write(lib: GmpLib, x: Deno.PointerObject, value: bigint): boolean;
}

/** Undefined until tried; null when this Deno cannot read serialized digits (hex text then). */
let codec: Codec | null | undefined;

/**
 * Numbers the codec must carry intact before it is used: both signs, word boundaries, and lengths
 * whose varint takes one, two and three bytes.
 */
const probes = () => [
  1n,
  -1n,
  2n ** 64n - 1n,
  -(2n ** 64n),
  -(2n ** 200n + 0x0123456789abcdefn),
  3n ** 6_000n,
  -(7n ** 60_000n),
];

/**
 * Serialized digits both ways, once they have carried every probe right on this thread. Each call
 * also checks what it can at no cost (the sign, the length, the lowest word) and leaves a number it
 * doubts to hex text: a deserializer that read a length wrong would otherwise cut a number silently.
 */
function digitsCodec(): Codec | null {
  if (codec !== undefined) return codec;
  codec = null;
  const core = coreFunctions<{ serialize(v: unknown): Uint8Array; deserialize(b: Uint8Array): unknown }>(
    "serialize",
    "deserialize",
  );
  const lib = gmp();
  if (!core || !lib) return null;
  // The format's header (0xFF, version) as this V8 writes it.
  const header = core.serialize(0n).subarray(0, 2);
  const candidate: Codec = {
    read(g, x) {
      const sign = signOf(x);
      if (sign === 0) return 0n;
      const bytes = Math.ceil(bitsOf(g, x) / 64) * 8;
      // 0xFF version 'Z' varint((bytes << 1) | negative), then the digits, least significant first.
      const head = [header[0], header[1], 0x5a, ...varint(bytes * 2 + (sign < 0 ? 1 : 0))];
      const buffer = new Uint8Array(head.length + bytes);
      buffer.set(head);
      const count = new BigUint64Array(1);
      g.__gmpz_export(buffer.subarray(head.length), new Uint8Array(count.buffer), -1, 8n, -1, 0n, x);
      if (Number(count[0]) * 8 !== bytes) return undefined;
      const value = core.deserialize(buffer);
      if (typeof value !== "bigint" || (value < 0n ? -1 : 1) !== sign) return undefined;
      const low = new DataView(buffer.buffer, head.length, 8).getBigUint64(0, true);
      return BigInt.asUintN(64, value < 0n ? -value : value) === low ? value : undefined;
    },
    write(g, x, value) {
      const bytes = core.serialize(value);
      if (bytes[2] !== 0x5a) return false;
      // After the header and 'Z': varint((length << 1) | negative), then the digits.
      let at = 3;
      let field = 0;
      for (let scale = 1; at < bytes.length; scale *= 0x80) {
        const b = bytes[at++];
        field += (b & 0x7f) * scale;
        if (b < 0x80) break;
      }
      const length = Math.floor(field / 2);
      const negative = field % 2 === 1;
      if (at + length !== bytes.length || length % 8 !== 0 || negative !== value < 0n) return false;
      g.__gmpz_import(x, BigInt(length / 8), -1, 8n, -1, 0n, bytes.subarray(at));
      if (negative) g.__gmpz_neg(x, x);
      const bits = bitsOf(g, x);
      return value === 0n
        ? bits === 0
        : bits > 8 * length - 64 && bits <= 8 * length && signOf(x) === (negative ? -1 : 1);
    },
  };
  const probe = new Registers(lib, 1);
  try {
    const carried = probes().every((value) => {
      if (!candidate.write(lib, probe.at(0), value) || hexToBigInt(lib, probe.at(0)) !== value) return false;
      return candidate.read(lib, probe.at(0)) === value;
    });
    if (carried) codec = candidate;
  } catch {
    codec = null;
  } finally {
    probe.reset();
  }
  return codec;
}

function varint(n: number): number[] {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n % 0x80) | 0x80);
  out.push(n);
  return out;
}

/** Whether numbers cross between GMP and BigInt as serialized digits on this thread (else as hex text). */
export function movesDigits(): boolean {
  return digitsCodec() !== null;
}
