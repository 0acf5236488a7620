import { assertEquals } from "../tests/helpers/assert.ts";
import { Encoder, Tag } from "./cbor_x.ts";
import { withBignums } from "./bignum.ts";
import { decodeCbor, encodeCbor, encodeCborParts } from "./cbor.ts";
import { stringifyTagged } from "./wire.ts";
import { jsonDepth } from "../tests/helpers/json_depth.ts";

/** cbor-x alone, as encodeCbor configures it: the bytes large byte strings must still come out as. */
const plain = new Encoder(
  { useRecords: false, mapsAsObjects: true } as ConstructorParameters<typeof Encoder>[0],
);

function filled(length: number, shared = false): Uint8Array {
  const bytes = new Uint8Array(shared ? new SharedArrayBuffer(length) : new ArrayBuffer(length));
  for (let i = 0; i < length; i++) bytes[i] = (i * 7 + 3) & 0xff;
  return bytes;
}

Deno.test("large byte strings: the same bytes as cbor-x writes, and as pieces of their own, uncopied", () => {
  const digits = filled(1_000_002, true);
  const edge = filled(65_536);
  const big = (1n << 700_000n) - 12_345n; // a bignum whose magnitude is ~87 KB
  const value = {
    reply: { digits, done: true, count: 1_000_000 },
    list: [edge, filled(65_535), filled(3), "text", 1.5],
    map: new Map<string, unknown>([["k", filled(70_000)], ["n", -big]]),
    big,
  };
  const encoded = encodeCbor(value);
  assertEquals(encoded, plain.encode(withBignums(value)));
  // The same bytes as cbor-x alone wherever a large byte string sits: a Set, a Map's key, an offset
  // view, a tag of another number.
  const elsewhere = {
    set: new Set([filled(80_000), 1]),
    keys: new Map<unknown, unknown>([[filled(66_000), "key"]]),
    view: digits.subarray(10, 100_010),
    tagged: new Tag(filled(70_000).buffer, 40_000),
  };
  assertEquals(encodeCbor(elsewhere), plain.encode(withBignums(elsewhere)));
  // Four times the piece before one, its head and its bytes, then the rest.
  assertEquals(encodeCborParts(elsewhere).length, 4 * 3 + 1);
  const parts = encodeCborParts(value);
  assertEquals(parts.includes(digits), true);
  assertEquals(parts.includes(edge), true);
  let size = 0;
  for (const part of parts) size += part.length;
  assertEquals(size, encoded.length);

  const back = decodeCbor<typeof value>(encoded);
  assertEquals(back.reply.digits, new Uint8Array(digits));
  assertEquals(back.list[0], edge);
  assertEquals(back.big, big);
  assertEquals(back.map.get("n"), -big);
});

Deno.test("values without large byte strings encode in one piece, as before", () => {
  const value = { a: [1, 2n, "x"], b: { c: new Uint8Array([1, 2, 3]) }, n: 1n << 70n };
  const parts = encodeCborParts(value);
  assertEquals(parts.length, 1);
  assertEquals(parts[0], plain.encode(withBignums(value)));
});

/** `levels` times the `open` bytes (one level each) around the integer 1, then `levels` times `close`. */
function nested(levels: number, open: number[], close: number[] = []): Uint8Array {
  const out = new Uint8Array(levels * (open.length + close.length) + 1);
  let at = 0;
  for (let i = 0; i < levels; i++) for (const b of open) out[at++] = b;
  out[at++] = 0x01;
  for (let i = 0; i < levels; i++) for (const b of close) out[at++] = b;
  return out;
}

/** What decodeCbor raises for `bytes` (code and message), or null when it decodes them. */
function refusal(bytes: Uint8Array, maxDepth?: number): { code: string; message: string } | null {
  try {
    decodeCbor(bytes, { maxDepth });
    return null;
  } catch (err) {
    return { code: (err as { code: string }).code, message: (err as Error).message };
  }
}

Deno.test("with maxDepth, arrays, maps, tags and indefinite lengths count a level each, and one level past it is refused", () => {
  const shapes: Record<string, [number[], number[]]> = {
    "array": [[0x81], []],
    "map": [[0xa1, 0x61, 0x6b], []],
    "tag": [[0xd8, 0x28], []],
    "indefinite array": [[0x9f], [0xff]],
    "indefinite map": [[0xbf, 0x61, 0x6b], [0xff]],
  };
  for (const [shape, [open, close]] of Object.entries(shapes)) {
    assertEquals(refusal(nested(200, open, close), 200), null, `${shape}: 200 levels`);
    const deeper = refusal(nested(201, open, close), 200);
    assertEquals(deeper?.code, "malformed_cbor", shape);
    assertEquals(/nested deeper than 200 levels/.test(deeper!.message), true, deeper!.message);
    // Without a limit nothing is measured: bytes this host wrote are trusted.
    assertEquals(refusal(nested(201, open, close)), null, `${shape}: no limit`);
  }
  for (const bad of [0, -1, NaN]) {
    let error: unknown;
    try {
      decodeCbor(Uint8Array.of(1), { maxDepth: bad });
    } catch (err) {
      error = err;
    }
    assertEquals(error instanceof RangeError, true, `maxDepth ${bad}`);
  }
});

Deno.test("100,000 levels are refused by the depth check, not by the decoder's stack", () => {
  for (const open of [[0x81], [0xa1, 0x61, 0x6b], [0xc6], [0x9f]]) {
    const deep = refusal(nested(100_000, open), 200);
    assertEquals(deep?.code, "malformed_cbor");
    assertEquals(/nested deeper than 200 levels/.test(deep!.message), true, deep!.message);
  }
  // What the check prevents: the decoder alone overflows its stack.
  assertEquals(/call stack/i.test(refusal(nested(100_000, [0x81]))?.message ?? ""), true);
});

Deno.test("a value nests no deeper in CBOR than in tagged JSON: a body at the JSON limit passes as CBOR", () => {
  let deep: unknown = {
    map: new Map<unknown, unknown>([["k", new Set([2n ** 100n, -(2n ** 90n)])], [1, [new Date(0)]]]),
    bytes: new Uint8Array([0x81, 0x81, 0x81]),
    small: 5n,
  };
  for (let i = 0; i < 150; i++) deep = i % 2 ? { d: deep } : [deep, i];
  // Longer than the limit, so that the depth is measured (shorter bytes cannot nest past it).
  const value = { kind: "set", args: { pad: "x".repeat(500), deep } };
  const limit = jsonDepth(stringifyTagged(value));
  const encoded = encodeCbor(value);
  assertEquals(encoded.length > limit, true);
  assertEquals(decodeCbor(encoded, { maxDepth: limit }), value);
});

Deno.test("string contents are skipped by their length, not read as heads", () => {
  const bytes = new Uint8Array(100_000).fill(0x81);
  const value = { bytes, text: "\u0081".repeat(1000) };
  assertEquals(decodeCbor(encodeCbor(value), { maxDepth: 2 }), value);
});

Deno.test("with maxDepth, bytes the depth check cannot measure as the decoder reads them are refused", () => {
  const deep = Array.from(nested(300, [0x81]));
  const cases: Record<string, number[]> = {
    // cbor-x would take the break for a value and read on into the deep array.
    "a break inside a definite-length array": [0x82, 0xff, ...deep],
    "a break after a key of an indefinite-length map": [0xbf, 0x61, 0x6b, 0xff, ...deep],
    "a cbor-x record definition": [0xd9, 0xdf, 0xfe, 0x82, 0x01, 0x01, ...deep],
    "a reserved head": [0x81, 0x1c, ...deep],
    "an indefinite-length byte string": [0x5f, 0x41, 0x00, 0xff, ...deep],
    "truncated": deep.slice(0, 250),
    "a string longer than the bytes": [0x82, 0x5a, 0x00, 0x01, 0x00, 0x00, ...deep],
  };
  for (const [what, bytes] of Object.entries(cases)) {
    assertEquals(refusal(Uint8Array.from(bytes), 100)?.code, "malformed_cbor", what);
  }
});
