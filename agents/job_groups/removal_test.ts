/** What a removed group job leaves its collector, by where its report was. */
import { assertEquals } from "../../tests/helpers/assert.ts";
import { collectingJobDefaults } from "./collecting_job_state.ts";
import { removalReport } from "./removal.ts";
import type { JobReport } from "./contract.ts";

const JOB = { agentId: "ag_job", hostName: "h1", hostUrl: "http://127.0.0.1:1" };
const state = (fields: Record<string, unknown>) => ({
  ...collectingJobDefaults(),
  groupId: "g",
  jobKey: "k1",
  collectorAgentId: "ag_collector",
  collectorHostUrl: "http://127.0.0.1:2",
  reportTimeoutSeconds: 7,
  ...fields,
});
const result: JobReport = {
  jobKey: "k1",
  reportId: "r-1",
  groupId: "g",
  agentId: "ag_job",
  jobId: "j",
  hostName: "h1",
  hostUrl: "",
  reportedAt: 1,
  result: { x: 1 },
};

Deno.test("a job with nothing reported leaves a failure at stage removed, with its key and host", () => {
  const removal = removalReport(state({}), JOB)!;
  assertEquals(removal.collector, { id: "ag_collector", host: "http://127.0.0.1:2" });
  assertEquals([removal.kind, removal.timeoutMs], ["failure", 7000]);
  const { reportId, reportedAt: _, ...report } = removal.report;
  assertEquals(report, {
    jobKey: "k1",
    groupId: "g",
    agentId: "ag_job",
    jobId: "compute-job-ag_job",
    hostName: "h1",
    hostUrl: "http://127.0.0.1:1",
    error: "removed on h1 before it reported",
    stage: "removed",
  });
  assertEquals(reportId.startsWith("ag_job-failure-"), true);
});

Deno.test("a report on its way, or given up, goes as it is: a result stays a result", () => {
  for (const reportStatus of ["PENDING", "UNDELIVERABLE"]) {
    const removal = removalReport(
      state({ reportStatus, pendingReport: { kind: "result", report: result } }),
      JOB,
    )!;
    assertEquals([removal.kind, removal.report], ["result", result]);
  }
});

Deno.test("a file result not uploaded yet is a failure that says so", () => {
  const artifactRequest = { path: "/x", name: "x", move: false, result: {} };
  const removal = removalReport(state({ reportStatus: "PENDING", artifactRequest }), JOB)!;
  assertEquals(removal.report.error, "removed on h1 before its file result was uploaded");
});

Deno.test("no report for a job whose report was accepted, or one without a collector", () => {
  assertEquals(
    removalReport(state({ reportStatus: "SENT", pendingReport: { kind: "result", report: result } }), JOB),
    null,
  );
  assertEquals(removalReport(state({ collectorAgentId: "" }), JOB), null);
  assertEquals(removalReport({ computeStatus: "WAITING_FOR_SLOT" }, JOB), null);
});
