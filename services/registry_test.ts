import { z } from "zod";
import { operation } from "../agents/operations.ts";
import { EventLog } from "../host/kernel/events.ts";
import { assert, assertEquals, assertRejectsCode } from "../tests/helpers/assert.ts";
import { eventually } from "../tests/helpers/in_process.ts";
import { defineService, type RunningService, serviceContract } from "./contract.ts";
import { ServiceRegistry } from "./registry.ts";
import type { ServiceHost } from "./service_host.ts";

const Echo = operation("echo", z.object({ text: z.string() }), z.object({ echo: z.string() }));
const Broken = operation("broken", z.object({}), z.object({ n: z.number() }));

/** A registry with one lazy `probe` service whose start can be slowed, failed and observed. */
function setup(
  options: { idleTimeoutMs?: number; startDelayMs?: number; failStarts?: number; busy?: () => boolean } = {},
) {
  const events = new EventLog();
  const stats = { starts: 0, stops: 0, failStarts: options.failStarts ?? 0, reasons: [] as string[] };
  const contract = serviceContract({
    name: "probe",
    lifecycle: "lazy",
    operations: { echo: Echo, broken: Broken },
  });
  const definition = defineService(
    contract,
    async (): Promise<RunningService<typeof contract.operations>> => {
      stats.starts++;
      await new Promise((r) => setTimeout(r, options.startDelayMs ?? 0));
      if (stats.failStarts > 0) {
        stats.failStarts--;
        throw new Error("disk on fire");
      }
      return {
        handlers: {
          echo: ({ text }) => ({ echo: text }),
          broken: () => ({ n: "not a number" }) as unknown as { n: number },
        },
        stop: (why) => {
          stats.stops++;
          stats.reasons.push(why);
        },
        busy: options.busy,
      };
    },
  );
  const registry = new ServiceRegistry(
    () => ({ keep: (_k: string, f: () => unknown) => f() }) as unknown as ServiceHost,
    events,
    {
      idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
    },
  );
  registry.register(definition);
  return { registry, stats, events };
}

Deno.test("a lazy service is listed but not running until its first call", async () => {
  const { registry } = setup();
  assertEquals(registry.describe("probe")?.running, false);
  assertEquals(await registry.call("probe", "echo", { text: "hi" }), { echo: "hi" });
  assertEquals(registry.describe("probe")?.running, true);
  await registry.close();
});

Deno.test("concurrent first calls start a lazy service once", async () => {
  const { registry, stats } = setup({ startDelayMs: 50 });
  const replies = await Promise.all(
    Array.from({ length: 8 }, (_, i) => registry.call("probe", "echo", { text: `${i}` })),
  );
  assertEquals(replies.map((r) => (r as { echo: string }).echo), ["0", "1", "2", "3", "4", "5", "6", "7"]);
  assertEquals([stats.starts, registry.startCount("probe")], [1, 1]);
  await registry.close();
});

Deno.test("an idle lazy service stops, stays listed, and starts again on the next call", async () => {
  const { registry, stats, events } = setup({ idleTimeoutMs: 50 });
  await registry.call("probe", "echo", { text: "a" });
  await eventually("the idle stop", () => stats.stops === 1, 5000);
  assertEquals(registry.describe("probe")?.running, false);
  assert(events.since(0, 100).some((e) => e.kind === "service-stop" && e.data?.reason === "idle"));
  await registry.call("probe", "echo", { text: "b" });
  assertEquals([stats.starts, registry.describe("probe")?.running], [2, true]);
  await registry.close();
  assertEquals(stats.stops, 2);
  assertEquals(stats.reasons, ["idle", "host-stop"], "the service is told why it stops");
});

Deno.test("a busy lazy service is not stopped for idleness", async () => {
  let busy = true;
  let asked = 0;
  const { registry, stats } = setup({ idleTimeoutMs: 20, busy: () => (asked++, busy) });
  await registry.call("probe", "echo", { text: "a" });
  await eventually("three idle checks while busy", () => asked >= 3, 5000);
  assertEquals(stats.stops, 0);
  busy = false;
  await eventually("the idle stop once not busy", () => stats.stops === 1, 5000);
  await registry.close();
});

Deno.test("unknown services and operations are 404 codes; bad requests are invalid_request", async () => {
  const { registry } = setup();
  await assertRejectsCode(() => registry.call("nope", "echo", {}), "service_not_found");
  await assertRejectsCode(() => registry.call("probe", "nope", {}), "operation_not_found");
  await assertRejectsCode(() => registry.call("probe", "constructor", {}), "operation_not_found");
  await assertRejectsCode(() => registry.call("probe", "echo", { text: 42 }), "invalid_request");
  await registry.close();
});

Deno.test("a reply that breaks its schema is the service's fault (internal)", async () => {
  const { registry } = setup();
  const err = await assertRejectsCode(() => registry.call("probe", "broken", {}), "internal");
  assert(/invalid reply/.test(err.message));
  await registry.close();
});

Deno.test("a failed start reaches every waiting caller and is retried on the next call", async () => {
  const { registry, stats, events } = setup({ failStarts: 1, startDelayMs: 20 });
  const results = await Promise.allSettled([
    registry.call("probe", "echo", { text: "a" }),
    registry.call("probe", "echo", { text: "b" }),
  ]);
  assertEquals(results.map((r) => r.status), ["rejected", "rejected"]);
  assertEquals(stats.starts, 1);
  assert(events.since(0, 100).some((e) => e.kind === "service-failed"));
  assertEquals(await registry.call("probe", "echo", { text: "c" }), { echo: "c" });
  await registry.close();
});

Deno.test("after close, calls fail with draining", async () => {
  const { registry } = setup();
  await registry.close();
  await assertRejectsCode(() => registry.call("probe", "echo", { text: "a" }), "draining");
});
