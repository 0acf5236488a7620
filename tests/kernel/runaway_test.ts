/**
 * A paglet stuck in a loop costs its worker, never the host: /v1/health keeps answering, agents on
 * other workers keep working, and disposing the stuck agent ends it by replacing its worker.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { eventually } from "../helpers/in_process.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { call } from "./helpers.ts";

type Record_ = { worker?: number; status: string; mailbox?: { busy: boolean } };

/** Whether a thread of process `pid` runs in Linux's SCHED_IDLE class (policy 5). */
function idledThread(pid: number): boolean {
  return [...Deno.readDirSync(`/proc/${pid}/task`)].some(({ name }) => {
    try {
      return /^policy\s*:\s*5$/m.test(Deno.readTextFileSync(`/proc/${pid}/task/${name}/sched`));
    } catch {
      return false; // the thread ended
    }
  });
}

Deno.test("a runaway paglet does not block the host, and disposing it replaces its worker", async (t) => {
  const host = await startHost({ name: "runaway", args: ["--workers", "2"] });
  try {
    const client = host.client;
    const worker = async (id: string) => ((await client.getAgent(id)) as unknown as Record_).worker;
    const busy = (await client.createAgent({ type: "demo.busy" })).id;
    const other = (await client.createAgent({ type: "demo.counter" })).id;
    const neighbour = (await client.createAgent({ type: "demo.counter", state: { count: 5 } })).id;
    const busyWorker = await worker(busy);
    assert(busyWorker !== await worker(other), "the counter lives on the other worker");
    assertEquals(await worker(neighbour), busyWorker, "the neighbour shares the busy worker");

    // Long beyond this test: every step below runs while it burns (the process's exit ends it).
    await client.send(busy, { kind: "burn", args: { ms: 60_000 } }, { oneway: true });
    const burning = async () => ((await client.getAgent(busy)) as unknown as Record_).mailbox?.busy === true;
    await eventually("the burn to start", burning);

    // Ordered by the burn itself: each answer below came while the paglet was still burning.
    await t.step("/v1/health answers while the paglet burns its worker", async () => {
      for (let i = 0; i < 10; i++) {
        const { status } = await call(host.url, "GET", "/v1/health");
        assertEquals(status, 200);
      }
      assert(await burning(), "the paglet still burns");
    });

    await t.step("an agent on the other worker keeps answering", async () => {
      for (let i = 1; i <= 5; i++) {
        assertEquals(await client.send(other, { kind: "increment" }), { count: i });
      }
      assert(await burning(), "the paglet still burns");
    });

    // Replaced, not waited for: an agent that had answered would have been disposed without it.
    await t.step("disposing the stuck paglet ends it by replacing its worker", async () => {
      await client.dispose(busy);
      assertEquals((await call(host.url, "GET", `/v1/agents/${busy}`)).status, 404);
      const { events } = await client.events(0, 1000);
      assert(events.some((e) => e.kind === "worker-replaced" && e.agentId === busy));
      // Deno cannot interrupt the old thread (denoland/deno#35657): the host reports it, and puts
      // it in SCHED_IDLE (policy 5) at once, so that it takes only CPU time nothing else wants.
      assertEquals((await client.hostInfo()).abandonedWorkers, 1);
      if (Deno.build.os === "linux") {
        assert(idledThread(host.process.pid), "a thread of the host in SCHED_IDLE");
      }
    });

    await t.step("the other agents of the replaced worker are restored and answer", async () => {
      assertEquals(await client.send(neighbour, { kind: "get" }), { count: 5 });
      const record = await client.getAgent(neighbour);
      assertEquals(record.status, "active");
      assert((record.state as { events: string[] }).events.includes("activation:runaway"));
      assertEquals(await client.send(other, { kind: "get" }), { count: 5 });
      const fresh = await client.createAgent({ type: "demo.counter" });
      assertEquals(await client.send(fresh.id, { kind: "increment" }), { count: 1 });
    });
    await t.step("the host still stops on SIGTERM, by itself", async () => {
      await host.stop();
      // Exited with 0, not killed by the helper's SIGKILL fallback: the still-burning thread of
      // the replaced worker did not hold the process (cli/host_command.ts exits explicitly).
      const { code, signal } = await host.process.status;
      assertEquals([code, signal], [0, null]);
    });
    await Deno.remove(host.dataDir, { recursive: true }).catch(() => {});
  } finally {
    await stopAll();
  }
});
