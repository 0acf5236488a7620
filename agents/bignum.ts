/**
 * Large bigints in CBOR, in linear time.
 *
 * CBOR writes integers beyond 64 bits as bignums: tag 2 (or 3 for negatives, holding −1 − n) over
 * the big-endian bytes of the magnitude. cbor-x converts those bytes one at a time with a shift of
 * the whole number each (quadratic: a 1 MiB bigint takes minutes). Here the conversion goes
 * through hexadecimal text, which V8 turns into and out of a bigint in linear time (~5 ms per MiB
 * measured on Deno 2.9): the same wire format, read and written at memory speed.
 *
 * @module
 */
import { addExtension, Tag } from "./cbor_x.ts";

/** Magnitudes from here on are bignums; cbor-x writes smaller ones as plain 64-bit integers. */
const BIGNUM_FROM = 1n << 64n;
/** Deeper values are left to cbor-x (which refuses cycles and absurd depths itself). */
const MAX_DEPTH = 512;

const HEX_VALUE = new Uint8Array(128);
for (let i = 0; i < 10; i++) HEX_VALUE[48 + i] = i;
for (let i = 0; i < 6; i++) HEX_VALUE[97 + i] = 10 + i;
const HEX_CHAR = new TextEncoder().encode("0123456789abcdef");
const ascii = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/** Big-endian bytes of n ≥ 0 (no leading zero bytes; empty for 0). */
export function magnitudeBytes(n: bigint): Uint8Array {
  if (n === 0n) return new Uint8Array();
  const hex = ascii.encode(n.toString(16));
  const odd = hex.length & 1;
  const out = new Uint8Array((hex.length + odd) >> 1);
  let i = 0;
  let j = 0;
  if (odd) out[j++] = HEX_VALUE[hex[i++]];
  for (; i < hex.length; i += 2) out[j++] = (HEX_VALUE[hex[i]] << 4) | HEX_VALUE[hex[i + 1]];
  return out;
}

/** The number n ≥ 0 whose big-endian bytes these are. */
export function bytesMagnitude(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  const chars = new Uint8Array(bytes.length * 2);
  for (let i = 0, j = 0; i < bytes.length; i++, j += 2) {
    chars[j] = HEX_CHAR[bytes[i] >> 4];
    chars[j + 1] = HEX_CHAR[bytes[i] & 15];
  }
  return BigInt("0x" + latin1.decode(chars));
}

/**
 * The CBOR bignum of n (tag 2 for n ≥ 0, tag 3 over −1 − n for n < 0). The magnitude goes in as an
 * ArrayBuffer, which cbor-x writes as a plain byte string (a Uint8Array would get a typed-array tag).
 */
function bignumTag(n: bigint): Tag {
  return n >= 0n ? new Tag(magnitudeBytes(n).buffer, 2) : new Tag(magnitudeBytes(-1n - n).buffer, 3);
}

function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  } else out[key] = value;
}

/**
 * `value` with every bigint of 64 bits or more replaced by its bignum tag, copying only the
 * objects on the way to one; without such bigints, `value` itself (nothing is allocated).
 */
export function withBignums(value: unknown): unknown {
  return mapLeaves(value, bignumLeaf);
}

/** A leaf as CBOR writes it: a bigint of 64 bits or more as its bignum tag, anything else as it is. */
export function bignumLeaf(value: unknown): unknown {
  return typeof value === "bigint" && (value >= BIGNUM_FROM || value <= -BIGNUM_FROM)
    ? bignumTag(value)
    : value;
}

/**
 * `value` with every leaf (anything but an array, a Map, a Set or a plain object) replaced by
 * `f(leaf)`, copying only the containers on the way to a changed one; `value` itself when no leaf
 * changes.
 */
export function mapLeaves(value: unknown, f: (leaf: unknown) => unknown, depth = 0): unknown {
  if (value === null || typeof value !== "object" || depth > MAX_DEPTH) return f(value);
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      const w = mapLeaves(v, f, depth + 1);
      if (w !== v) (out ??= value.slice())[i] = w;
    }
    return out ?? value;
  }
  if (value instanceof Map) {
    let changed = false;
    const entries = [...value].map(([k, v]) => {
      const [k2, v2] = [mapLeaves(k, f, depth + 1), mapLeaves(v, f, depth + 1)];
      if (k2 !== k || v2 !== v) changed = true;
      return [k2, v2] as const;
    });
    return changed ? new Map(entries) : value;
  }
  if (value instanceof Set) {
    let changed = false;
    const items = [...value].map((v) => {
      const w = mapLeaves(v, f, depth + 1);
      if (w !== v) changed = true;
      return w;
    });
    return changed ? new Set(items) : value;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return f(value); // bytes, dates, tags: leaves
  let out: Record<string, unknown> | null = null;
  for (const key in value) {
    const v = (value as Record<string, unknown>)[key];
    const w = mapLeaves(v, f, depth + 1);
    if (w !== v) setOwn(out ??= { ...(value as Record<string, unknown>) }, key, w);
  }
  return out ?? value;
}

/** Replaces cbor-x's quadratic bignum readers (process-wide; same results, linear time). */
export function installBignumDecoders(): void {
  addExtension({ tag: 2, decode: (bytes: Uint8Array) => bytesMagnitude(bytes) } as never);
  addExtension({ tag: 3, decode: (bytes: Uint8Array) => -1n - bytesMagnitude(bytes) } as never);
}
