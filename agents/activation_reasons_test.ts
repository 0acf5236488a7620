import { assertEquals } from "../tests/helpers/assert.ts";
import { interruptionOf } from "./activation_reasons.ts";

Deno.test("an arrival whose start waited is interrupted by a move, not by a host restart", () => {
  assertEquals(
    interruptionOf("arrival-waited"),
    "interrupted by a move (its start on the new host waited for its code or a restart)",
  );
  assertEquals(
    interruptionOf("clone-waited"),
    "interrupted: this is a copy, whose start waited (the work runs on in the original)",
  );
  assertEquals(interruptionOf("restore"), "interrupted by a host restart");
  assertEquals(interruptionOf("startup"), "interrupted by a host restart");
});

Deno.test("a reason that does not say the paglet was running means it was put to sleep", () => {
  for (const reason of ["message", "timer", "external", undefined]) {
    assertEquals(interruptionOf(reason), "interrupted by a deactivation");
  }
});
