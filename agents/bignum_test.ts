import { assertEquals } from "../tests/helpers/assert.ts";
import { bytesMagnitude, magnitudeBytes, withBignums } from "./bignum.ts";
import { decodeCbor, encodeCbor } from "./cbor.ts";
import { Tag } from "./cbor_x.ts";

Deno.test("bigints of any size round-trip through CBOR", () => {
  // cbor-x alone needs minutes for the 400 KB values (a shift per byte); here they take milliseconds
  // (a quadratic conversion would show as a test taking minutes).
  const big = 3n ** 2_000_000n; // ~400 KB
  // Written through this module's linear bignum tag, not left to cbor-x.
  assertEquals(withBignums(big) instanceof Tag, true);
  const values = [0n, 1n, -1n, (1n << 64n) - 1n, 1n << 64n, -(1n << 64n), -(1n << 64n) - 1n, big, -big];
  const back = decodeCbor<{ v: bigint[] }>(encodeCbor({ v: values })).v;
  assertEquals(back, values);
});

Deno.test("large bigints are standard CBOR bignums: tag 2 over the big-endian magnitude, tag 3 for negatives", () => {
  const bytes = encodeCbor(1n << 64n);
  assertEquals([...bytes], [0xc2, 0x49, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  assertEquals([...encodeCbor(-(1n << 64n) - 1n)], [0xc3, 0x49, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  assertEquals(bytesMagnitude(magnitudeBytes(0xabcdefn)), 0xabcdefn);
  assertEquals([...magnitudeBytes(0x1abn)], [0x01, 0xab]);
});

Deno.test("values without large bigints are encoded as they are, with nothing copied", () => {
  const state = { a: [1, 2n, "x"], b: { c: new Uint8Array([1]) } };
  assertEquals(withBignums(state) === state, true);
  const withBig = { keep: { same: true }, n: [1n << 70n] };
  const out = withBignums(withBig) as typeof withBig;
  assertEquals(out.keep === withBig.keep, true);
  assertEquals(withBig.n[0], 1n << 70n);
});
