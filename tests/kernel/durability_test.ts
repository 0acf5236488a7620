/**
 * Durability across crashes, with real host processes: a host killed with SIGKILL and started
 * again on the same --data-dir has every inactive agent and queued message, fires due wake-ups,
 * brings back agents that ask for it, and restores agents that were active from their last
 * checkpoint.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { eventually } from "../helpers/in_process.ts";
import { type HostProcess, startHost, stopAll } from "../helpers/host_process.ts";
import { hostRow, storedState } from "../helpers/host_db.ts";
import { call, KERNEL_FIXTURES } from "./helpers.ts";

type Record_ = { status: string; queuedMessages: number; state: Record<string, unknown> };

/** How many messages for an agent its host's database holds right now. */
function storedMessages(dataDir: string, id: string): number {
  return Number(
    hostRow<{ n: number }>(dataDir, "SELECT count(*) AS n FROM queued_messages WHERE agent_id = ?", id)?.n,
  );
}

function start(name: string, dataDir?: string): Promise<HostProcess> {
  return startHost({ name, dataDir, args: ["--module", KERNEL_FIXTURES, "--workers", "2"] });
}

Deno.test("a host killed with SIGKILL keeps its agents, messages and wake-ups", async (t) => {
  const ids: Record<string, string> = {};
  let host = await start("durable");
  const dataDir = host.dataDir;
  try {
    const client = () => host.client;
    const get = async (id: string) => (await client().getAgent(id)) as unknown as Record_;

    await t.step("before the crash: agents in every situation", async () => {
      // Inactive, taking no activation by message: three messages wait for it.
      ids.queued = (await client().createAgent({ type: "kernel.recorder" })).id;
      await client().deactivate(ids.queued, { activateOnMessage: false });
      for (const text of ["one", "two", "three"]) {
        const answer = await call(host.url, "POST", `/v1/agents/${ids.queued}/messages`, {
          kind: "note",
          args: { text },
        });
        assertEquals(answer.status, 202);
      }
      // Inactive, plain.
      ids.sleeper = (await client().createAgent({ type: "demo.counter", state: { count: 11 } })).id;
      await client().deactivate(ids.sleeper);
      // Inactive with a wake-up due a second from now, and one due in an hour.
      ids.due = (await client().createAgent({ type: "demo.counter", state: { count: 21 } })).id;
      await client().deactivate(ids.due, { afterSeconds: 1 });
      ids.later = (await client().createAgent({ type: "demo.counter" })).id;
      await client().deactivate(ids.later, { afterSeconds: 3600 });
      // Inactive, asking to come back when the host starts.
      ids.startup = (await client().createAgent({ type: "demo.counter", state: { count: 31 } })).id;
      await client().deactivate(ids.startup, { activateOnStartup: true });
      // Active, with a change that a checkpoint has saved.
      ids.active = (await client().createAgent({ type: "demo.counter" })).id;
      await client().send(ids.active, { kind: "increment", args: { by: 41 } });
      await eventually(
        "the checkpoint of the active agent",
        () => storedState(dataDir, ids.active)?.count === 41,
      );
    });

    await t.step("SIGKILL, then a start on the same --data-dir", async () => {
      await host.kill();
      host = await start("durable", dataDir);
    });

    await t.step("inactive agents and their queued messages are all there", async () => {
      const queued = await get(ids.queued);
      assertEquals([queued.status, queued.queuedMessages], ["inactive", 3]);
      const sleeper = await get(ids.sleeper);
      assertEquals([sleeper.status, sleeper.state.count], ["inactive", 11]);
    });

    await t.step("queued messages are delivered in order once the agent is activated", async () => {
      await client().activate(ids.queued);
      const { notes } = await client().send(ids.queued, { kind: "notes", priority: 1 }) as {
        notes: string[];
      };
      assertEquals(notes, ["one", "two", "three"]);
      assertEquals((await get(ids.queued)).queuedMessages, 0);
    });

    await t.step("a deactivated agent with a due wake-up is active again after a host restart", async () => {
      const due = await eventually("the due wake-up", async () => {
        const record = await get(ids.due);
        return record.status === "active" ? record : null;
      });
      assertEquals(due.state.count, 21);
      assertEquals((await get(ids.later)).status, "inactive");
    });

    await t.step("an agent whose policy says activateOnStartup is active again", async () => {
      const record = await get(ids.startup);
      assertEquals([record.status, record.state.count], ["active", 31]);
    });

    await t.step("an agent that was active at the kill comes back from its last checkpoint", async () => {
      const record = await get(ids.active);
      assertEquals([record.status, record.state.count], ["active", 41]);
      assertEquals(await client().send(ids.active, { kind: "increment" }), { count: 42 });
    });

    await t.step(
      "a graceful stop deactivates active agents and the next start brings them back",
      async () => {
        await host.stop();
        assertEquals(
          hostRow<{ status: string }>(dataDir, "SELECT status FROM agents WHERE id = ?", ids.active)?.status,
          "inactive",
        );
        host = await start("durable", dataDir);
        const record = await get(ids.active);
        assertEquals([record.status, record.state.count], ["active", 42]);
        assert(((record.state.events as string[]) ?? []).includes("deactivating:durable"));
      },
    );
  } finally {
    await host.stop().catch(() => {});
    await stopAll();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("changes made outside handlers reach the store with the checkpoints, and survive a SIGKILL: run() under way, a timer that calls notifyStateChanged()", async () => {
  let host = await start("outside");
  const dataDir = host.dataDir;
  try {
    const counting = (await host.client.createAgent({ type: "kernel.counting" })).id;
    const timed = (await host.client.createAgent({ type: "kernel.timed" })).id;
    assertEquals(await host.client.send(timed, { kind: "later" }), { ok: true });
    // No message, no context call: the worker reports these changes to the checkpoint.
    let stored = 0;
    await eventually("run()'s count in the store", () => {
      stored = Number(storedState(dataDir, counting)?.n ?? 0);
      return stored >= 10;
    });
    await eventually("the timer's change in the store", () => storedState(dataDir, timed)?.m === 7);

    await host.kill();
    host = await start("outside", dataDir);
    const { n } = await host.client.send(counting, { kind: "get" }) as { n: number };
    assert(n >= stored, `run() went on from its stored count ${stored}: ${n}`);
    assertEquals(await host.client.send(timed, { kind: "get" }), { m: 7 });
  } finally {
    await stopAll();
  }
});

Deno.test("a checkpoint never stores a state half-way through a handler: a failed handler leaves no change, a stored message's effect is stored with its removal", async (t) => {
  const host = await start("halfway");
  const dataDir = host.dataDir;
  try {
    await t.step(
      "a handler that changed the state, awaited past checkpoints, then failed: undone, never stored",
      async () => {
        for (const notify of [false, true]) {
          const { id } = await host.client.createAgent({ type: "kernel.halfway" });
          const failed = await host.client.send(id, { kind: "halfThrow", args: { ms: 2500, notify } }).then(
            () => null,
            (err: { code: string }) => err.code,
          );
          assertEquals(failed, "handler_failed");
          assertEquals(await host.client.send(id, { kind: "get" }), { x: 0, n: 0 }, `notify: ${notify}`);
          assertEquals(storedState(dataDir, id), { x: 0, n: 0 }, `notify: ${notify}`);
        }
      },
    );

    await t.step(
      "a stored message's effect reaches the store with its removal, behind another one half-way",
      async () => {
        const { id } = await host.client.createAgent({ type: "kernel.halfway" });
        await host.client.deactivate(id, { activateOnMessage: false, queueMessagesWhenInactive: true });
        for (const [kind, ms] of [["incSlow", 1500], ["wait", 30_000]] as const) {
          const answer = await call(host.url, "POST", `/v1/agents/${id}/messages`, {
            kind,
            args: { ms },
            oneway: true,
          });
          assertEquals(answer.status, 202);
        }
        await host.client.activate(id);
        // While `wait` is half-way, a crash brings back n = 1 with `wait` alone still stored.
        await eventually("incSlow's effect in the store", () => storedState(dataDir, id)?.n === 1);
        assertEquals(storedMessages(dataDir, id), 1);
      },
    );
  } finally {
    await stopAll();
  }
});
