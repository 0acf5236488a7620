import { assertEquals } from "../../tests/helpers/assert.ts";
import { groupThousands } from "./format.ts";

Deno.test("groupThousands puts commas between groups of three digits, as toLocaleString('en') does", () => {
  for (const n of [0, 7, 999, 1000, 65_536, 1_000_000, 100_000_000, 1_234_567_890, -1234]) {
    assertEquals(groupThousands(n), n.toLocaleString("en"));
  }
});
