/**
 * A Runner task in an endless loop, past its `timeoutMs`: Deno cannot end its worker's thread
 * (denoland/deno#35657), so the host puts that thread at idle priority (SCHED_IDLE: it runs only on
 * CPU time nothing else wants), reports it, and a command whose embedded host holds such a thread
 * exits instead of waiting for it for ever.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { paglets } from "../helpers/cli.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";

const SCRIPT = new URL("./fixtures/endless.ts", import.meta.url).pathname;
const ENV = { PAGLETS_COMPUTE_BURST_LOAD_PER_CPU: "1000" };
const LINUX = Deno.build.os === "linux";

Deno.test({
  name:
    "a task looping past its timeout: its thread runs at idle priority, is reported, and the core serves on",
  ignore: !LINUX,
  async fn() {
    try {
      const host = await startHost({ name: "strays", env: ENV });
      const run = await paglets(["run", SCRIPT, "--entry", host.url], ENV);
      assertEquals(run.code, 0, run.stderr);
      assertEquals(JSON.parse(run.stdout.trim()), { timedOut: "task_timeout", after: 49 });
      const event = await eventually("the stray thread reported", async () => {
        const { events } = await host.client.request<{ events: { kind: string; data: { tid: number } }[] }>(
          "GET",
          "/v1/events?limit=1000",
        );
        return events.find((e) => e.kind === "compute-thread-stray");
      });
      const sched = await Deno.readTextFile(`/proc/${host.process.pid}/task/${event.data.tid}/sched`);
      assert(/^policy\s*:\s*5$/m.test(sched), `SCHED_IDLE (5):\n${sched}`);
    } finally {
      await stopAll();
    }
  },
});

Deno.test({
  name: "paglets run with an embedded host exits after its script although a task's thread loops on",
  ignore: !LINUX,
  async fn() {
    const run = await paglets(["run", SCRIPT], ENV);
    assertEquals(run.code, 0, run.stderr);
    assertEquals(JSON.parse(run.stdout.trim()), { timedOut: "task_timeout", after: 49 });
  },
});
