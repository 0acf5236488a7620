import { assertEquals, assertRejectsCode } from "../../tests/helpers/assert.ts";
import { parseSince } from "./cli.ts";

Deno.test("--since takes a notification id, 'all', or a duration back from now", async () => {
  assertEquals(parseSince("all", 1_000_000), { since: 0, sinceTime: 0 });
  assertEquals(parseSince("42", 1_000_000), { since: 42, sinceTime: 0 });
  assertEquals(parseSince("10m", 1_000_000), { since: 0, sinceTime: 400_000 });
  assertEquals(parseSince("1.5s", 1_000_000), { since: 0, sinceTime: 998_500 });
  await assertRejectsCode(() => Promise.resolve().then(() => parseSince("yesterday")), "invalid_request");
});
