/** agents/compute_job_retries.ts: how often and how long a compute job's driver tries again. */
import { assert, assertEquals } from "../tests/helpers/assert.ts";
import { boundedRetry, nextDriverRetry, resetDriverRetries } from "./compute_job_retries.ts";
import { computeJobDefaults } from "./compute_job_state.ts";
import { PagletError } from "./errors.ts";

const unanswered = (n: number) =>
  new PagletError("timeout", `compute-slots/request-slot did not answer (${n})`);

Deno.test("the driver tries again with doubling pauses up to the longest, then gives up naming the last error", () => {
  const state = computeJobDefaults({ driverRetryLimit: 4, driverRetrySeconds: 1, driverRetryMaxSeconds: 5 });
  const pauses = [1, 2, 3, 4].map((n) => nextDriverRetry(state, unanswered(n)));
  assertEquals(pauses, [1000, 2000, 4000, 5000].map((pauseMs) => ({ retry: true, pauseMs })));
  assertEquals(state.driverRetries, 4);
  assertEquals(nextDriverRetry(state, unanswered(5)), {
    retry: false,
    error: "compute job driver gave up after 5 attempts (driverRetryLimit 4): " +
      "[timeout] compute-slots/request-slot did not answer (5)",
  });
  assertEquals(state.driverError, "[timeout] compute-slots/request-slot did not answer (5)");
});

Deno.test("a slot request that gets an answer ends a run of retries: the next failure counts from 0", () => {
  const state = computeJobDefaults({ driverRetryLimit: 2 });
  assertEquals(resetDriverRetries(state), false);
  nextDriverRetry(state, unanswered(1));
  nextDriverRetry(state, unanswered(2));
  assert(resetDriverRetries(state));
  assertEquals([state.driverRetries, state.driverError], [0, ""]);
  assertEquals(nextDriverRetry(state, unanswered(3)), { retry: true, pauseMs: 2000 });
});

Deno.test("driverRetryLimit 0 fails at the first error; a state without the fields gets the defaults", () => {
  const none = computeJobDefaults({ driverRetryLimit: 0 });
  assertEquals(nextDriverRetry(none, unanswered(1)).retry, false);
  const old = computeJobDefaults() as unknown as Record<string, unknown>;
  for (const key of ["driverRetryLimit", "driverRetrySeconds", "driverRetryMaxSeconds", "driverRetries"]) {
    delete old[key];
  }
  const state = old as unknown as ReturnType<typeof computeJobDefaults>;
  assertEquals(nextDriverRetry(state, unanswered(1)), { retry: true, pauseMs: 2000 });
  assertEquals([state.driverRetryLimit, state.driverRetries], [10, 1]);
});

Deno.test("a bound of retries: the pause doubles up to the longest, and the run ends naming its attempts and last error", () => {
  const bound = { limitName: "reportRetryLimit", limit: 3, firstSeconds: 5, maxSeconds: 12 };
  assertEquals([0, 1, 2].map((retries) => boundedRetry(retries, bound, "report", "[timeout] x")), [
    { retry: true, pauseMs: 5000 },
    { retry: true, pauseMs: 10_000 },
    { retry: true, pauseMs: 12_000 },
  ]);
  assertEquals(boundedRetry(3, bound, "report", "[timeout] x"), {
    retry: false,
    error: "report gave up after 4 attempts (reportRetryLimit 3): [timeout] x",
  });
  assertEquals(boundedRetry(0, { ...bound, limit: 0 }, "report", "[timeout] x"), {
    retry: false,
    error: "report gave up after 1 attempt (reportRetryLimit 0): [timeout] x",
  });
});
