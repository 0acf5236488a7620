/**
 * Timed wake-ups: each runs on its own (a slow `onActivation` holds up no other), wakes only a
 * paglet still due, and one that fails leaves the paglet asleep, tried again later, instead of
 * crashed. A paglet's own deactivation policy is checked when it asks.
 */
import { assert, assertEquals, assertRejectsCode } from "../helpers/assert.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { eventsOf, fixtureHost, KERNEL_FIXTURES } from "./helpers.ts";

Deno.test("a wake-up whose onActivation never ends holds up none of the others due after it", async () => {
  try {
    // The slow hook's deadline is far: the others must not wait for it.
    const host = await startHost({
      name: "slow-wake",
      env: { PAGLETS_HOOK_TIMEOUT_MS: "120000" },
      args: ["--module", KERNEL_FIXTURES],
    });
    const client = host.client;
    const { id: slow } = await client.createAgent({ type: "kernel.thrower" });
    await client.send(slow, { kind: "hang-on", args: { hook: "activation" } });
    const others: string[] = [];
    for (let i = 0; i < 20; i++) others.push((await client.createAgent({ type: "kernel.thrower" })).id);
    const at = Date.now() + 300;
    await client.deactivate(slow, { activateAt: at, activateOnMessage: false });
    for (const id of others) await client.deactivate(id, { activateAt: at + 100, activateOnMessage: false });
    await eventually("every other paglet awake", async () => {
      for (const id of others) if ((await client.getAgent(id)).status !== "active") return false;
      return true;
    });
    assertEquals((await client.getAgent(slow)).status, "inactive", "the slow one still starts");
  } finally {
    await stopAll();
  }
});

Deno.test("a wake-up that comes due while a message's start of the same paglet is under way waits for that start", async () => {
  try {
    const host = await startHost({ name: "wake-meets-message", args: ["--module", KERNEL_FIXTURES] });
    const client = host.client;
    const { id } = await client.createAgent({ type: "kernel.thrower" });
    // Its onActivation takes 1.5 s: the wake-up comes due while the message's start runs.
    await client.send(id, { kind: "hang-on", args: { hook: "activation-late" } });
    await client.deactivate(id, { activateAt: Date.now() + 300 });
    // A host that spun on the due wake-up never handled the start's end, nor this reply.
    assertEquals(await client.send(id, { kind: "bump" }, { timeoutMs: 15_000 }), { n: 1 });
    assertEquals((await client.getAgent(id)).status, "active");
    assertEquals(await client.send(id, { kind: "bump" }), { n: 2 });
  } finally {
    await stopAll();
  }
});

/** The host's count of failed starts it tries again, of `kind` (`wake`, `restore`), from its /metrics. */
async function retrying(url: string, kind: "wake" | "restore"): Promise<number> {
  const series = `paglets_retrying_starts{kind="${kind}"} `;
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(text.split("\n").find((line) => line.startsWith(series))?.slice(series.length));
}

Deno.test("a paglet disposed while its failed wake-up waits for its next try leaves no try behind", async () => {
  await using h = await fixtureHost();
  const client = h.client;
  assertEquals(await retrying(h.host.url, "wake"), 0);
  const { id } = await client.createAgent({ type: "kernel.thrower" });
  await client.send(id, { kind: "hang-on", args: { hook: "activation-throw" } });
  await client.deactivate(id, { afterSeconds: 0.1, activateOnMessage: false });
  await eventually(
    "a wake-failed event",
    async () => (await eventsOf(client, "wake-failed")).some((e) => e.agentId === id),
  );
  assertEquals(await retrying(h.host.url, "wake"), 1, "its next try waits");

  await client.dispose(id);
  assertEquals(await retrying(h.host.url, "wake"), 0, "the host keeps nothing of it");
});

Deno.test("timed wake-ups: only a paglet still due, activateAt 0, a failed wake retried, a paglet's own policy checked", async (t) => {
  await using h = await fixtureHost();
  const client = h.client;

  await t.step("a paglet put to sleep again after it was found due sleeps until its new time", async () => {
    const { id } = await client.createAgent({ type: "kernel.recorder" });
    const foundAt = Date.now();
    await client.deactivate(id, { afterSeconds: 3600 });
    // The timer found it due before it went to sleep for an hour: that wake-up is spent.
    await h.host.runtime.wake(id, foundAt);
    assertEquals((await client.getAgent(id)).status, "inactive");
    await h.host.runtime.wake(id, Date.now() + 3_601_000);
    assertEquals((await client.getAgent(id)).status, "active");
  });

  await t.step("activateAt 0 (a time long past) wakes the paglet at once", async () => {
    const { id } = await client.createAgent({ type: "kernel.recorder" });
    await client.deactivate(id, { activateAt: 0, activateOnMessage: false });
    await eventually("awake", async () => (await client.getAgent(id)).status === "active");
  });

  await t.step(
    "a wake-up whose hook throws leaves the paglet asleep, tried again a minute later, then two",
    async () => {
      const { id } = await client.createAgent({ type: "kernel.thrower" });
      await client.send(id, { kind: "hang-on", args: { hook: "activation-throw" } });
      await client.deactivate(id, { afterSeconds: 0.1, activateOnMessage: false });
      const [failed] = await eventually("a wake-failed event", async () => {
        const found = (await eventsOf(client, "wake-failed")).filter((e) => e.agentId === id);
        return found.length > 0 && found;
      });
      assert(/activation refused/.test(failed.error ?? ""), failed.error);
      const retryAt = Number(failed.data?.retryAt);
      assert(retryAt > Date.now() + 50_000, `retried at ${new Date(retryAt).toISOString()}`);
      assertEquals(failed.data?.failures, 1);
      const record = await client.getAgent(id);
      assertEquals(record.status, "inactive");
      // The record says when the next try comes (its policy keeps the time it asked for).
      assertEquals((record as { wakeAt?: number }).wakeAt, retryAt);
      // The retry, as the timer would make it once that minute has passed, fails again: twice as late.
      const retried = Date.now();
      await h.host.runtime.wake(id, retryAt);
      const again = (await eventsOf(client, "wake-failed")).filter((e) => e.agentId === id);
      assertEquals(again.length, 2);
      assertEquals(again[1].data?.failures, 2);
      const next = Number(again[1].data?.retryAt) - retried;
      assert(next >= 120_000 && next < 125_000, `retried ${next} ms later`);
      assertEquals((await eventsOf(client, "paglet-crashed")).filter((e) => e.agentId === id), []);
    },
  );

  await t.step("a paglet's deactivation with a policy it cannot have fails at its call", async () => {
    const { id } = await client.createAgent({ type: "kernel.context" });
    for (
      const [policy, text] of [
        [{ afterSecs: 5 }, /has no field 'afterSecs'/],
        [{ activateAt: -1 }, /'activateAt' must be epoch milliseconds/],
        [{ activateOnMessage: "no" }, /'activateOnMessage' must be true or false/],
        [{ afterSeconds: 5, activateAt: Date.now() }, /both activateAt and afterSeconds/],
      ] as const
    ) {
      const err = await assertRejectsCode(
        () => client.send(id, { kind: "deactivate-with", args: { policy } }),
        "invalid_request",
      );
      assert(text.test(err.message), err.message);
      assertEquals((await client.getAgent(id)).status, "active");
    }
    assertEquals(
      await client.send(id, { kind: "deactivate-with", args: { policy: { afterSeconds: 3600 } } }),
      {
        sleeping: true,
      },
    );
    const asleep = await eventually("asleep", async () => {
      const record = await client.getAgent(id);
      return record.status === "inactive" && record;
    });
    assert(
      Number((asleep.policy as { activateAt?: number } | null)?.activateAt) > Date.now() + 3_500_000,
      JSON.stringify(asleep.policy),
    );
  });
});
