import { assertEquals } from "../tests/helpers/assert.ts";
import { Encoder, Tag } from "./cbor_x.ts";
import { withBignums } from "./bignum.ts";
import { decodeCbor, encodeCbor, encodeCborParts } from "./cbor.ts";

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
