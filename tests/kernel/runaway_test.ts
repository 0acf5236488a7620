/**
 * A paglet stuck in a loop costs its worker, never the host: /v1/health keeps answering, agents on
 * other workers keep working, and disposing the stuck agent ends it by replacing its worker.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { eventually } from "../helpers/in_process.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { call } from "./helpers.ts";

type Record_ = { worker?: number; status: string; mailbox?: { busy: boolean } };

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

    await client.send(busy, { kind: "burn", args: { ms: 5000 } }, { oneway: true });
    const burnStarted = performance.now();
    await eventually(
      "the burn to start",
      async () => ((await client.getAgent(busy)) as unknown as Record_).mailbox?.busy,
    );

    await t.step("/v1/health answers within 100 ms while the paglet burns its worker", async () => {
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        const { status } = await call(host.url, "GET", "/v1/health");
        const ms = performance.now() - t0;
        assertEquals(status, 200);
        assert(ms < 100, `health took ${ms.toFixed(1)} ms`);
      }
    });

    await t.step("an agent on the other worker keeps answering", async () => {
      for (let i = 1; i <= 5; i++) {
        const t0 = performance.now();
        assertEquals(await client.send(other, { kind: "increment" }), { count: i });
        assert(performance.now() - t0 < 1000, "the counter answered promptly");
      }
    });

    await t.step("disposing the stuck paglet ends it quickly and replaces its worker", async () => {
      const t0 = performance.now();
      await client.dispose(busy);
      const elapsed = performance.now() - t0;
      assert(performance.now() - burnStarted < 5000, "the dispose finished before the burn would have");
      assert(elapsed < 3000, `dispose took ${elapsed.toFixed(0)} ms`);
      assertEquals((await call(host.url, "GET", `/v1/agents/${busy}`)).status, 404);
      const { events } = await client.events(0, 1000);
      assert(events.some((e) => e.kind === "worker-replaced" && e.agentId === busy));
      // Deno cannot interrupt the old thread (denoland/deno#35657): the host reports it.
      assertEquals((await client.hostInfo()).abandonedWorkers, 1);
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
    await t.step("the host still stops promptly on SIGTERM", async () => {
      const t0 = performance.now();
      await host.stop();
      assert(performance.now() - t0 < 2500, `stop took ${(performance.now() - t0).toFixed(0)} ms`);
    });
    await Deno.remove(host.dataDir, { recursive: true }).catch(() => {});
  } finally {
    await stopAll();
  }
});
