/**
 * A Runner task in an endless loop, past its `timeoutMs`. Deno 2.9 ends such a worker's thread only
 * at times (denoland/deno#35657): when it does not, the host puts the thread at idle priority
 * (SCHED_IDLE: it runs only on CPU time nothing else wants) and reports it; either way the core
 * serves the next task, and a command whose embedded host holds such a thread exits instead of
 * waiting for it for ever.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { paglets } from "../helpers/cli.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { testWithoutDefaultEntry } from "../helpers/default_entry.ts";

const SCRIPT = new URL("./fixtures/endless.ts", import.meta.url).pathname;
const LEFT = new URL("./fixtures/endless_left.ts", import.meta.url).pathname;
const ENV = { PAGLETS_COMPUTE_BURST_LOAD_PER_CPU: "1000" };
const LINUX = Deno.build.os === "linux";

/** CPU ticks (10 ms) of each thread of process `pid`. */
function threadTicks(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const { name } of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/task/${name}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(name, Number(fields[11]) + Number(fields[12]));
    } catch { /* the thread ended */ }
  }
  return out;
}

/** Whether a thread of `pid` keeps a CPU busy: most of a 300 ms window. */
async function aThreadBurns(pid: number): Promise<boolean> {
  const before = threadTicks(pid);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const after = threadTicks(pid);
  return [...after].some(([tid, ticks]) => ticks - (before.get(tid) ?? ticks) >= 20);
}

Deno.test({
  name:
    "a task looping past its timeout: its thread ends, or runs at idle priority and is reported; the core serves on",
  ignore: !LINUX,
  async fn() {
    try {
      const host = await startHost({ name: "strays", env: ENV });
      const run = await paglets(["run", SCRIPT, "--entry", host.url], ENV);
      assertEquals(run.code, 0, run.stderr);
      assertEquals(JSON.parse(run.stdout.trim()), { timedOut: "task_timeout", after: 49 });
      const outcome = await eventually("the looping thread ended or reported", async () => {
        const { events } = await host.client.request<{ events: { kind: string; data: { tid: number } }[] }>(
          "GET",
          "/v1/events?limit=1000",
        );
        const stray = events.find((e) => e.kind === "compute-thread-stray");
        if (stray) return { tid: stray.data.tid };
        return !(await aThreadBurns(host.process.pid)) && { tid: null };
      }, 20_000);
      if (outcome.tid !== null) {
        const sched = await Deno.readTextFile(`/proc/${host.process.pid}/task/${outcome.tid}/sched`);
        assert(/^policy\s*:\s*5$/m.test(sched), `SCHED_IDLE (5):\n${sched}`);
      }
    } finally {
      await stopAll();
    }
  },
});

testWithoutDefaultEntry(
  "paglets run with an embedded host exits after its script although a task's thread may loop on",
  async () => {
    const run = await paglets(["run", SCRIPT], ENV);
    assertEquals(run.code, 0, run.stderr);
    assertEquals(JSON.parse(run.stdout.trim()), { timedOut: "task_timeout", after: 49 });
  },
  { ignore: !LINUX },
);

testWithoutDefaultEntry(
  "paglets run with an embedded host exits when its script leaves a task looping without a timeout",
  async () => {
    const run = await paglets(["run", LEFT], ENV);
    assertEquals(run.code, 0, run.stderr);
    assertEquals(run.stdout.trim(), "done");
  },
  { ignore: !LINUX },
);
