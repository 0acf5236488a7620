/**
 * A StallWatch counts silence only while its process runs: a suspension (here the event loop held
 * by a busy loop, as a SIGSTOP or a laptop's sleep would hold it) is no stall of the other side.
 */
import { assert, assertEquals } from "../tests/helpers/assert.ts";
import { eventually } from "../tests/helpers/in_process.ts";
import { StallWatch } from "./stall_watch.ts";

const LIMIT_MS = 200;

/** Holds the event loop for `ms`: nothing runs, as in a process that is suspended. */
function suspend(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* the process does not run */ }
}

/** Lets the timers that are due run (the watch's check, due long ago, comes before this one). */
function dueTimers(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("a watch suspended for longer than its limit does not give up as it resumes, but after a real stall", async () => {
  const watch = new StallWatch(LIMIT_MS);
  try {
    suspend(3 * LIMIT_MS);
    await dueTimers();
    assert(!watch.stalled, "given up as soon as the process resumed");
    // Nothing moves from here on: a real stall.
    await eventually("the watch gives up", () => watch.stalled);
    assertEquals((watch.signal.reason as DOMException).name, "TimeoutError");
  } finally {
    watch.stop();
  }
});
