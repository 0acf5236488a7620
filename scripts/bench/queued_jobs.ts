/**
 * Benchmark: 1,000 one-core compute jobs of 50 ms submitted at once to one host. Target: total wall
 * time within 1.25× of the ideal, jobs × 50 ms ÷ eligible cores.
 *
 * The clock starts before the first job is created and stops when the last compute step ends, so
 * the wall time includes creating every job, placing it, queueing it (each waiting job is
 * deactivated to disk), and waking each one with its grant. Jobs are created over HTTP by 8
 * concurrent clients while the first ones already compute.
 *
 * Run: `deno run -A scripts/bench/queued_jobs.ts [--jobs 1000] [--ms 50] [--clients 8] [--in-process]`
 */
import { parseArgs } from "node:util";
import { benchHost, median, percentile, verdict } from "./stats.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    jobs: { type: "string", default: "1000" },
    ms: { type: "string", default: "50" },
    clients: { type: "string", default: "8" },
    "in-process": { type: "boolean", default: false },
  },
});
const jobs = Number(values.jobs);
const ms = Number(values.ms);
const clients = Number(values.clients);
const TARGET = 1.25;

const { client, cleanup } = await benchHost(values["in-process"], "queued");

interface Counters {
  stepsSucceeded: number;
  stepsFailed: number;
  grantedAtOnce: number;
  grantedFromQueue: number;
  maxReservedCpuCores: number;
  passes: number;
}
interface Status {
  host: { eligibleCpuIds: number[]; reservedCpuCores: number };
  counters: Counters;
  finishedUsage?: { finishedAt: number }[];
}
const status = async (body: Record<string, unknown> = {}) =>
  (await client.request<{ reply: Status }>("POST", "/v1/services/compute-slots/status", {
    includeQueue: false,
    includeLeases: false,
    ...body,
  })).reply;

try {
  const cores = (await status()).host.eligibleCpuIds.length;
  const body = { type: "demo.spinjob", state: { cpuCores: 1, ms, estimatedRuntimeSeconds: ms / 1000 } };
  const started = Date.now();
  let next = 0;
  const ids: string[] = [];
  await Promise.all(Array.from({ length: clients }, async () => {
    while (next < jobs) {
      next++;
      ids.push((await client.createAgent(body)).id);
    }
  }));
  const created = Date.now();
  let maxReserved = 0;
  let last: Status;
  while (true) {
    last = await status();
    maxReserved = Math.max(maxReserved, last.host.reservedCpuCores);
    if (last.counters.stepsSucceeded + last.counters.stepsFailed >= jobs) break;
    if (Date.now() - started > 30 * jobs * ms) {
      throw new Error(`jobs did not finish: ${JSON.stringify(last.counters)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const history = (await status({ includeHistory: true })).finishedUsage ?? [];
  // Idle time of each core between one step and the next (from the jobs' own clocks).
  const steps: { cpu: number; start: number; end: number }[] = [];
  for (let i = 0; i < ids.length; i += 50) {
    const batch = await Promise.all(ids.slice(i, i + 50).map((id) => client.getAgent(id)));
    for (const record of batch) {
      const s = record.state as {
        cpuCoreIds: number[];
        computeStartedAt: number;
        computeCompletedAt: number;
      };
      steps.push({ cpu: s.cpuCoreIds[0], start: s.computeStartedAt, end: s.computeCompletedAt });
    }
  }
  const gaps: number[] = [];
  for (const cpu of new Set(steps.map((s) => s.cpu))) {
    const onCpu = steps.filter((s) => s.cpu === cpu).sort((a, b) => a.start - b.start);
    for (let i = 1; i < onCpu.length; i++) gaps.push(onCpu[i].start - onCpu[i - 1].end);
  }
  const firstStart = Math.min(...steps.map((s) => s.start));
  const finished = Math.max(...history.map((u) => u.finishedAt));
  const wall = finished - started;
  const ideal = (jobs * ms) / cores;
  const c = last.counters;
  console.log(
    `host: ${cores} eligible CPUs; ${jobs} jobs of ${ms} ms, 1 core each, created by ${clients} clients`,
  );
  console.log(`created all jobs in ${((created - started) / 1000).toFixed(2)} s`);
  console.log(`wall time ${(wall / 1000).toFixed(2)} s vs ideal ${(ideal / 1000).toFixed(2)} s`);
  console.log(
    `overhead per job per core: ${
      ((wall - ideal) * cores / jobs).toFixed(1)
    } ms; steps ok ${c.stepsSucceeded}, ` +
      `failed ${c.stepsFailed}; granted at once ${c.grantedAtOnce}, from the queue ${c.grantedFromQueue}; ` +
      `passes ${c.passes}; most cores reserved ${c.maxReservedCpuCores} (polled ${maxReserved})`,
  );
  console.log(
    `first step started ${
      firstStart - started
    } ms after the first create; idle gap of a core between steps: ` +
      `median ${median([...gaps]).toFixed(1)} ms, p90 ${percentile([...gaps], 90).toFixed(1)} ms, ` +
      `sum ${(gaps.reduce((a, b) => a + b, 0) / 1000 / cores).toFixed(2)} s per core`,
  );
  verdict("1,000 queued jobs wall vs ideal", wall / ideal, `≤ ${TARGET}×`, wall / ideal <= TARGET);
  if (c.stepsFailed > 0 || c.maxReservedCpuCores > cores) Deno.exitCode = 1;
} finally {
  await cleanup();
}
