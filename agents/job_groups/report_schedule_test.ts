/** agents/job_groups/report_schedule.ts: when a group's job tries its report again, and when it gives up. */
import { assertEquals } from "../../tests/helpers/assert.ts";
import { PagletError } from "../errors.ts";
import { collectingJobDefaults } from "./collecting_job_state.ts";
import { nextReportTry, type ReportScheduleState } from "./report_schedule.ts";

const down = new PagletError("host_unreachable", "Cannot reach http://keeper:8765");

/** One more try of the report, failed with `error` at `now`. */
function failed(state: ReportScheduleState, now: number, error = down) {
  state.reportAttempts += 1;
  return nextReportTry(state, error, now);
}

Deno.test("tries made early (the job woken) neither count nor move the schedule: it gives up when its schedule ends", () => {
  const state = collectingJobDefaults({
    reportRetryLimit: 2,
    reportRetrySeconds: 5,
    reportRetryMaxSeconds: 300,
  });
  assertEquals(failed(state, 0), { retry: true, at: 5000 });
  for (const now of [1000, 2000, 3000, 4999]) assertEquals(failed(state, now), { retry: true, at: 5000 });
  assertEquals([state.reportRetries, state.reportAttempts], [1, 5]);
  assertEquals(failed(state, 5000), { retry: true, at: 15_000 });
  assertEquals(failed(state, 9000), { retry: true, at: 15_000 });
  assertEquals(failed(state, 15_000), {
    retry: false,
    error:
      "report gave up after 3 attempts (reportRetryLimit 2): [host_unreachable] Cannot reach http://keeper:8765",
  });
  assertEquals(state.reportAttempts, 8);
});

Deno.test("a try due while the job's host was down counts when it comes, and the schedule goes on from then", () => {
  const state = collectingJobDefaults({
    reportRetryLimit: 3,
    reportRetrySeconds: 5,
    reportRetryMaxSeconds: 300,
  });
  failed(state, 0);
  assertEquals(failed(state, 60_000), { retry: true, at: 70_000 });
  assertEquals(state.reportRetries, 2);
});

Deno.test("a refusal gives up at once, early or not; 'no such collector' only after ten tries on schedule", () => {
  const refused = collectingJobDefaults();
  failed(refused, 0);
  assertEquals(failed(refused, 1, new PagletError("invalid_request", "bad report")), {
    retry: false,
    error: "report gave up after 2 attempts: [invalid_request] bad report",
  });

  const gone = new PagletError("agent_not_found", "No agent ag_c");
  const state = collectingJobDefaults({ reportRetrySeconds: 1, reportRetryMaxSeconds: 1 });
  let now = 0;
  for (let i = 1; i < 10; i++) {
    assertEquals(failed(state, now, gone), { retry: true, at: now + 1000 });
    assertEquals(failed(state, now + 500, gone).retry, true, "an early try does not count");
    now += 1000;
  }
  assertEquals(failed(state, now, gone), {
    retry: false,
    error: "report gave up after 19 attempts: [agent_not_found] No agent ag_c",
  });
});

Deno.test("a state stored before the schedule's fields: its tries so far count as on schedule", () => {
  const state = collectingJobDefaults({ reportRetryLimit: 2 }) as ReportScheduleState;
  delete state.reportRetries;
  delete state.reportNextTryAt;
  delete state.reportRetryLimit;
  state.reportAttempts = 2;
  assertEquals(nextReportTry(state, down, 0), { retry: true, at: 10_000 });
  assertEquals([state.reportRetries, state.reportRetryLimit], [2, 20]);
});
