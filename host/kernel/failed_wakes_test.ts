import { assert, assertEquals } from "../../tests/helpers/assert.ts";
import { PagletError } from "../../agents/errors.ts";
import { FailedWakes } from "./failed_wakes.ts";
import { EARLY_TRIES } from "./start_retries.ts";

const noCode = () => new PagletError("code_unavailable", "no host it could ask has module abc");
const workerEnded = () => new PagletError("worker_lost", "A worker ended while starting");
const refused = () => new PagletError("hook_failed", "activation refused");

Deno.test("a failed wake-up whose cause may pass is tried early when a host is back; one the paglet refused is not", () => {
  const wakes = new FailedWakes();
  const first = wakes.failed("code", noCode());
  assertEquals([first.failures, first.early], [1, true]);
  assert(first.retryAt >= Date.now() + 59_000, "the timed try comes a minute later");
  assertEquals(wakes.failed("worker", workerEnded()).early, true);
  assertEquals(wakes.failed("hook", refused()).early, false);
  assertEquals(wakes.takeEarly().sort(), ["code", "worker"]);
  // Taken: not again until that try has ended.
  assertEquals(wakes.takeEarly(), []);
  wakes.forget("worker"); // woken
  const again = wakes.failed("code", noCode());
  assertEquals(again.failures, 2, "an early try that fails counts: the next timed one comes twice as late");
  assertEquals(wakes.takeEarly(), ["code"]);
});

Deno.test(`at most ${EARLY_TRIES} early tries come between two timed ones`, () => {
  const wakes = new FailedWakes();
  wakes.failed("a", noCode());
  for (let i = 0; i < EARLY_TRIES; i++) {
    assertEquals(wakes.takeEarly(), ["a"]);
    wakes.failed("a", noCode());
  }
  assertEquals(wakes.takeEarly(), [], "the early tries are spent");
  // The timed try fails too: early tries are due again.
  const timed = wakes.failed("a", noCode());
  assertEquals([timed.failures, timed.early], [EARLY_TRIES + 2, true]);
  assertEquals(wakes.takeEarly(), ["a"]);
});
