import { assertEquals } from "../../tests/helpers/assert.ts";
import { EARLY_TRIES, EarlyTries, retryDelayMs } from "./start_retries.ts";

Deno.test("a failed start is tried again a minute later, twice as late after each further failure, up to an hour", () => {
  assertEquals([1, 2, 3, 6, 7, 50].map(retryDelayMs), [
    60_000,
    120_000,
    240_000,
    1_920_000,
    3_600_000,
    3_600_000,
  ]);
});

Deno.test(`a failed start has ${EARLY_TRIES} early tries between two timed ones, one at a time`, () => {
  let early = EarlyTries.after(undefined);
  for (let i = 0; i < EARLY_TRIES; i++) {
    assertEquals(early.left, true);
    assertEquals(early.take(), true);
    assertEquals(early.take(), false, "not while that try is under way");
    early = EarlyTries.after(early); // the early try failed
  }
  assertEquals([early.left, early.take()], [false, false], "spent until the timed try");
  early = EarlyTries.after(early); // the timed try failed
  assertEquals([early.left, early.take()], [true, true]);
});
