/**
 * A StallWatch counts silence only while its process runs: a suspension (here the event loop held
 * by a busy loop, as a SIGSTOP or a laptop's sleep would hold it) is no stall of the other side.
 * With an answer limit, it tells another side that answers nothing from one that answers without
 * moving.
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

Deno.test("a watch whose other side answers no question gives up as unanswered, long before its limit", async () => {
  const never = Promise.withResolvers<number | null>();
  const watch = new StallWatch(60_000, {
    probe: () => never.promise,
    probeAfterMs: 20,
    answerLimitMs: LIMIT_MS,
  });
  try {
    await eventually("the watch gives up", () => watch.stalled);
    assert(watch.unanswered);
    assertEquals((watch.signal.reason as DOMException).name, "TimeoutError");
  } finally {
    watch.stop();
  }
});

Deno.test("a watch whose other side answers without moving is not given up as unanswered, but after its limit", async () => {
  let asked = 0;
  const watch = new StallWatch(4 * LIMIT_MS, {
    probe: () => {
      asked++;
      return Promise.resolve(null);
    },
    probeAfterMs: 20,
    answerLimitMs: LIMIT_MS / 2,
  });
  try {
    await eventually("the watch gives up", () => watch.stalled);
    assert(!watch.unanswered);
    assert(asked > 1, `asked ${asked} times`);
  } finally {
    watch.stop();
  }
});

Deno.test("a watch suspended while its question is out does not give up as unanswered as it resumes", async () => {
  const answers: PromiseWithResolvers<number | null>[] = [];
  const watch = new StallWatch(60_000, {
    probe: () => {
      answers.push(Promise.withResolvers<number | null>());
      return answers.at(-1)!.promise;
    },
    probeAfterMs: 20,
    answerLimitMs: LIMIT_MS,
  });
  try {
    await eventually("a question", () => answers.length > 0);
    suspend(3 * LIMIT_MS);
    await dueTimers();
    assert(!watch.stalled, "given up as soon as the process resumed");
    answers[0].resolve(null); // the other side answers: it runs
    await eventually("a later question", () => answers.length > 1, 5000);
    assert(!watch.stalled);
  } finally {
    watch.stop();
  }
});
