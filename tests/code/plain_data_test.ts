/** What counts as plain data (what may move and persist), and where a check says the rest is. */
import { assert, assertEquals } from "../helpers/assert.ts";
import { findNonPlainData, requirePlainData } from "../../agents/wire.ts";

class Point {
  constructor(readonly x: number) {}
}

Deno.test("maps, sets, bytes, dates, bigints, null prototypes and -0 are plain; instances and NaN are named", () => {
  const plain = {
    m: new Map<unknown, unknown>([["a", 1], [2, new Set([1n, new Date(0)])]]),
    b: new Uint8Array(3),
    n: Object.assign(Object.create(null), { z: -0 }),
    u: undefined,
  };
  assertEquals(findNonPlainData(plain), null);
  assertEquals(findNonPlainData(new Map([["p", new Point(1)]])), "$.get(p) (instance of Point)");
  assertEquals(findNonPlainData({ s: new Set([NaN]) }), "$.s<item> (non-finite number)");
});

Deno.test("a value nested past the limit is named, not a stack overflow", () => {
  let deep: unknown = 1;
  for (let i = 0; i < 5000; i++) deep = { d: deep };
  const found = findNonPlainData(deep);
  assert(found?.includes("nested deeper than 512 levels"), String(found));
  let error: unknown;
  try {
    requirePlainData(deep, "Cannot send message 'x' to ag_1", "args");
  } catch (err) {
    error = err;
  }
  assertEquals((error as { code?: string }).code, "invalid_request");
});
