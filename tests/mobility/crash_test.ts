/**
 * Crash safety of the handoff: whichever side dies mid-way, after both are up again exactly one
 * copy of the agent exists, with its state.
 */
import { assertEquals, assertRejectsCode } from "../helpers/assert.ts";
import { freePort, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { agentIds, startMobileHost } from "./helpers.ts";

Deno.test("a target killed after it stored the arrival but before the source saw the ack ends with one copy, on the target", async () => {
  try {
    const port = freePort();
    const a = await startMobileHost("alpha");
    let b = await startMobileHost("beta", { port, env: { PAGLETS_FAULT: "exit-after-store" } });
    const { id } = await a.client.createAgent({ type: "test.traveller" });
    await a.client.send(id, { kind: "set", args: { count: 11 } });

    const err = await assertRejectsCode(() => a.client.dispatch(id, b.url), "transfer_pending");
    await b.process.status; // the fault ended it
    // Not confirmed either way: the source holds the agent back instead of running a second copy.
    assertEquals((await a.client.getAgent(id)).status, "moving", err.message);
    await assertRejectsCode(() => a.client.send(id, { kind: "get" }, { timeoutMs: 2000 }), "agent_moving");

    b = await startMobileHost("beta", { port, dataDir: b.dataDir });
    const state = await eventually("the agent running on beta", async () => {
      const s = await b.client.send(id, { kind: "get" }) as { count: number; events: string[] };
      return s.events.includes("run:beta") ? s : null;
    });
    assertEquals(state!.count, 11);
    assertEquals(state!.events.filter((e) => e.startsWith("arrival")), ["arrival:beta:dispatch"]);
    // Started once, by the arrival: no second start (a restore) after it.
    assertEquals(state!.events.filter((e) => e.startsWith("activation")), []);
    await eventually("alpha settled the transfer", async () => (await agentIds(a)).length === 0, 20_000);
    assertEquals(await a.client.getAgent(id), { id, movedTo: b.url });
    assertEquals(await agentIds(b), [id]);
  } finally {
    await stopAll();
  }
});

Deno.test("a source killed right after sending comes back without a duplicate and without loss", async () => {
  try {
    const port = freePort();
    let a = await startMobileHost("alpha", { port, env: { PAGLETS_FAULT: "exit-after-send" } });
    const b = await startMobileHost("beta");
    const { id } = await a.client.createAgent({ type: "test.traveller" });
    await a.client.send(id, { kind: "set", args: { count: 5 } });

    await a.client.dispatch(id, b.url).then(() => {
      throw new Error("the source should have died");
    }, () => {});
    await a.process.status;
    await eventually(
      "the agent running on beta",
      async () => (await b.client.getAgent(id)).status === "active",
    );

    a = await startMobileHost("alpha", { port, dataDir: a.dataDir });
    await eventually("alpha settled the transfer", async () => (await agentIds(a)).length === 0, 20_000);
    assertEquals(await a.client.getAgent(id), { id, movedTo: b.url });
    assertEquals(await agentIds(b), [id]);
    assertEquals((await b.client.send(id, { kind: "get" }) as { count: number }).count, 5);
  } finally {
    await stopAll();
  }
});

Deno.test("a source killed before it sent anything keeps the agent after its restart", async () => {
  try {
    const port = freePort();
    let a = await startMobileHost("alpha", { port, env: { PAGLETS_FAULT: "exit-before-send" } });
    const b = await startMobileHost("beta");
    const { id } = await a.client.createAgent({ type: "test.traveller" });
    await a.client.send(id, { kind: "set", args: { count: 9 } });

    await a.client.dispatch(id, b.url).catch(() => {});
    await a.process.status;
    a = await startMobileHost("alpha", { port, dataDir: a.dataDir });
    const state = await eventually("the agent back on alpha", async () => {
      const s = await a.client.send(id, { kind: "get" }) as { count: number; events: string[] };
      return s.events.includes("activation:alpha:dispatch-failed") ? s : null;
    }, 20_000);
    assertEquals(state!.count, 9);
    assertEquals(await agentIds(b), []);
    // The target refuses that transfer id for good: a late copy of it can never land.
    const row = await b.client.request<{ status: string }>(
      "GET",
      `/v1/transfers/${await pendingTransferOf(a.dataDir)}`,
    );
    assertEquals(row.status, "refused");
  } finally {
    await stopAll();
  }
});

/** The transfer id alpha wrote for its dispatch (read from its ledger). */
async function pendingTransferOf(dataDir: string): Promise<string> {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(`${dataDir}/host.sqlite`, { readOnly: true });
  try {
    const row = db.prepare(
      "SELECT transfer_id FROM transfers WHERE direction = 'out' ORDER BY created_at DESC LIMIT 1",
    ).get() as { transfer_id: string };
    return row.transfer_id;
  } finally {
    db.close();
  }
}
