/** Tagged JSON: values JSON cannot carry, and plain objects that look like tags, travel and come back. */
import { assertEquals } from "../tests/helpers/assert.ts";
import { parseTagged, stringifyTagged } from "./wire.ts";

Deno.test("bigints, bytes, dates, maps and sets come back as they were", () => {
  const value = {
    big: 2n ** 70n,
    bytes: new Uint8Array([1, 2, 3]),
    when: new Date(5),
    map: new Map([["k", 1n]]),
    set: new Set(["a"]),
  };
  assertEquals(parseTagged(stringifyTagged(value)), value);
});

Deno.test("a plain object of one key that a tag uses comes back as the object, not as the tag", () => {
  for (
    const data of [
      { when: { $date: 5 } },
      { $bigint: "12" },
      [{ $set: "not a list" }, { $obj: { x: 1 } }],
      { nested: { $map: { $bytes: "%%%" } } },
      { $other: 1 }, // no tag's key: as it is
    ]
  ) {
    assertEquals(parseTagged(stringifyTagged(data)), data, JSON.stringify(data));
  }
  // A key whose value is undefined is no key in JSON: the object is still escaped.
  const withUndefined = { $bigint: "12", note: undefined };
  assertEquals(parseTagged(stringifyTagged(withUndefined)), { $bigint: "12" });
  // Beside a real tag too.
  const mixed = { big: 3n, raw: { $date: "2026-01-01" } };
  assertEquals(parseTagged(stringifyTagged(mixed)), mixed);
});
