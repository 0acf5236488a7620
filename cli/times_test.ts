import { assertEquals } from "../tests/helpers/assert.ts";
import { ago, elapsedSince, formatDuration, localTime } from "./times.ts";

Deno.test("a moment is zero-padded local time; none is empty", () => {
  assertEquals(localTime(new Date(2024, 11, 31, 23, 0, 9).getTime()), "2024-12-31 23:00:09");
  assertEquals(localTime(null), "");
  assertEquals(localTime(0), "");
});

Deno.test("spans round to whole seconds and show two units at most", () => {
  assertEquals(
    [9.4, 68, 3 * 3600 + 5 * 60 + 7, 2 * 86400 + 4 * 3600 + 59].map(formatDuration),
    ["9s", "1m 8s", "3h 5m", "2d 4h"],
  );
  assertEquals(formatDuration(-5), "0s");
});

Deno.test("the time since a moment is a span, with ' ago' for ago(); an unknown moment is '-'", () => {
  const now = 1_000_000_000;
  assertEquals(elapsedSince(now - 68_000, now), "1m 8s");
  assertEquals(ago(now - 68_000, now), "1m 8s ago");
  assertEquals([elapsedSince(0, now), ago(undefined, now)], ["-", "-"]);
});
