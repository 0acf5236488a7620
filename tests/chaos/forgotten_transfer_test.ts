/**
 * A source that comes back after its target forgot the transfer (the target prunes the rows of
 * arrivals after --forwarding-retention) must not take the target's "I do not know it" for "it
 * never came": the paglet would then run twice, restored on the source and alive where it went.
 * The target answers `stored` while the agent lives there; else, if it may have forgotten the
 * transfer, `transfer_expired`, and the source keeps the paglet reserved; and a record of the
 * target's own that says nothing of the transfer (its own unconfirmed departure) is not taken for
 * "it came", which would leave the paglet nowhere.
 */
import { assertEquals, assertRejectsCode } from "../helpers/assert.ts";
import { freePort, type HostProcess, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { agentIds, startMobileHost } from "../mobility/helpers.ts";
import { eventData } from "../mesh/helpers.ts";
import { newAgentId } from "../../host/kernel/ids.ts";
import { newTransferId } from "../../host/transfers/dispatcher.ts";

/**
 * A target's clock margin of a second (forgotten_transfers.ts): it keeps the rows of the transfers it
 * took that long past its retention, not a minute.
 */
const SHORT_MARGIN = { PAGLETS_CLOCK_MARGIN_MS: "1000" };

/**
 * Alpha (dying right after it sent) dispatches a paglet (count 7) to beta, which forgets the
 * transfers it took after 1 s; alpha's process has ended with the move pending, beta runs the paglet.
 */
/** A paglet (count 7) created on `a`, which dies (PAGLETS_FAULT) dispatching it to `b`: its id. */
async function dispatchAndDie(a: HostProcess, b: HostProcess): Promise<string> {
  const { id } = await a.client.createAgent({ type: "test.traveller" });
  await a.client.send(id, { kind: "set", args: { count: 7 } });
  await a.client.dispatch(id, b.url).then(() => {
    throw new Error("the source should have died");
  }, () => {});
  await a.process.status;
  return id;
}

async function moveFromDyingSource() {
  const port = freePort();
  const a = await startMobileHost("alpha", { port, env: { PAGLETS_FAULT: "exit-after-send" } });
  const b = await startMobileHost("beta", { args: ["--forwarding-retention", "1"], env: SHORT_MARGIN });
  const id = await dispatchAndDie(a, b);
  const [stored] = await eventData(b, "transfer-stored");
  return { port, a, b, id, transferId: String(stored.transferId) };
}

/** Until `host` answers `GET /v1/transfers/:id` with `transfer_not_found`. */
async function forgotten(host: HostProcess, transferId: string): Promise<void> {
  await eventually(
    `${host.name} to forget ${transferId}`,
    () =>
      host.client.request("GET", `/v1/transfers/${transferId}`).then(
        () => false,
        (err) => err.code === "transfer_not_found",
      ),
    20_000,
    100,
  );
}

/**
 * {@link moveFromDyingSource}, then beta moves the paglet on to gamma and forgets both the transfer
 * and where the paglet went: alpha, back, cannot learn where it is.
 */
async function movedOnAndForgotten() {
  const moved = await moveFromDyingSource();
  const { b, id, transferId } = moved;
  const g = await startMobileHost("gamma");
  await b.client.dispatch(id, g.url);
  await forgotten(b, transferId);
  await eventually(
    "beta to forget where the paglet went",
    () => b.client.getAgent(id).then(() => false, (err) => err.code === "agent_not_found"),
    20_000,
    100,
  );
  return { ...moved, g };
}

Deno.test("a source back after its target forgot the transfer learns the paglet is there, while the target holds it", async () => {
  try {
    const { port, a, b, id, transferId } = await moveFromDyingSource();
    await forgotten(b, transferId);

    const back = await startMobileHost("alpha", { port, dataDir: a.dataDir });
    const settled = await eventually(
      "alpha settled the transfer",
      () => events(back, "transfer-settled"),
      20_000,
    );
    assertEquals(settled.map((d) => d.outcome), ["stored"]);
    assertEquals(await agentIds(back), []);
    assertEquals(await eventData(back, "restore"), []);
    assertEquals(await back.client.getAgent(id), { id, movedTo: b.url });
    assertEquals(await agentIds(b), [id]);
    assertEquals((await b.client.send(id, { kind: "get" }) as { count: number }).count, 7);
  } finally {
    await stopAll();
  }
});

Deno.test("a source back after its target forgot the transfer and the paglet moved on keeps it reserved, and says so", async () => {
  try {
    const { port, a, b, g, id, transferId } = await movedOnAndForgotten();

    // Back with a fault for later: it dies right after sending its next move.
    let back = await startMobileHost("alpha", {
      port,
      dataDir: a.dataDir,
      env: { PAGLETS_FAULT: "exit-after-send" },
    });
    const expired = await eventually(
      "alpha to hear the transfer expired",
      () => events(back, "transfer-expired", "transfer-settled"),
      20_000,
    );
    assertEquals(await eventData(back, "transfer-settled"), []);
    assertEquals(expired.map((d) => [d.transferId, d.target]), [[transferId, b.url]]);
    assertEquals(back.stderr.some((l) => l.startsWith("warning:") && l.includes(transferId)), true);
    // Neither restored on alpha nor gone from it: reserved, one live copy (on gamma).
    assertEquals(await eventData(back, "restore"), []);
    assertEquals((await back.client.getAgent(id)).status, "moving");
    // A message to it is answered transfer_expired, not agent_moving (which senders try again: it
    // would never pass by itself).
    await assertRejectsCode(
      () => back.client.send(id, { kind: "get" }, { timeoutMs: 2000 }),
      "transfer_expired",
    );
    assertEquals(await agentIds(g), [id]);
    assertEquals((await g.client.send(id, { kind: "get" }) as { count: number }).count, 7);

    // A source that does not say its departure's age (a version before it) gets no answer it would
    // take for a refusal from a target that forgot arrivals: it keeps its paglet reserved.
    const abandon = (body: Record<string, unknown>) =>
      b.client.request<{ status: string }>("POST", `/v1/transfers/${newTransferId()}/abandon`, {
        agentId: newAgentId(),
        source: a.url,
        ...body,
      });
    await assertRejectsCode(() => abandon({}), "transfer_expired");

    // The verdict is kept: a restart neither asks beta again nor warns again. Alpha dies after
    // sending another paglet to gamma; at its next start one round asks about its pending
    // departures: that one (settled) and not the expired one, which the views still show.
    const { id: other } = await back.client.createAgent({ type: "test.traveller" });
    await back.client.dispatch(other, g.url).then(() => {
      throw new Error("the source should have died");
    }, () => {});
    await back.process.status;
    back = await startMobileHost("alpha", { port, dataDir: a.dataDir });
    const settled = await eventually(
      "alpha to settle its other move",
      () => events(back, "transfer-settled"),
      20_000,
    );
    assertEquals(settled.map((d) => d.outcome), ["stored"]);
    assertEquals(await eventData(back, "transfer-expired"), []);
    assertEquals(back.stderr.filter((l) => l.startsWith("warning:")), []);
    const view = await back.client.getAgent(id);
    assertEquals([view.status, (view.departure as { status: string }).status], ["moving", "expired"]);
    await assertRejectsCode(
      () => back.client.send(id, { kind: "get" }, { timeoutMs: 2000 }),
      "transfer_expired",
    );
    assertEquals(
      (await back.client.request<{ status: string }>("GET", `/v1/transfers/${transferId}`)).status,
      "expired",
    );
    assertEquals(
      (await back.client.listAgents()).agents.map((x) => (x.departure as { status: string }).status),
      [
        "expired",
      ],
    );

    // The operator found it on gamma and settles the move by hand (docs/mobility.md).
    await back.stop();
    await settleByHand(a.dataDir, id, transferId);
    back = await startMobileHost("alpha", { port, dataDir: a.dataDir });
    assertEquals(await agentIds(back), []);
    assertEquals((await agentIds(g)).sort(), [id, other].sort());
    assertEquals(await eventData(back, "transfer-expired"), []);
  } finally {
    await stopAll();
  }
});

Deno.test("a paglet held for an operator on its source settles the move by coming back; meanwhile every request to it is answered transfer_expired", async () => {
  try {
    const { port, a, g, id, transferId } = await movedOnAndForgotten();
    const back = await startMobileHost("alpha", { port, dataDir: a.dataDir });
    await eventually("alpha to hear the transfer expired", () => events(back, "transfer-expired"), 20_000);

    // Not agent_moving (which callers try again): it would never pass by itself.
    await assertRejectsCode(() => back.client.dispatch(id, g.url), "transfer_expired");
    await assertRejectsCode(
      () => back.client.request("POST", `/v1/agents/${id}/clone`, { target: g.url }),
      "transfer_expired",
    );

    // Gamma sends it back (its first move to alpha: a preflight asks first): that settles the move.
    await g.client.dispatch(id, back.url);
    // Stored (its arrival's record), then started.
    const view = await eventually("the paglet to start on alpha", async () => {
      const agent = await back.client.getAgent(id);
      return agent.status === "active" && agent;
    });
    assertEquals(view.departure, undefined);
    assertEquals((await back.client.send(id, { kind: "get" }) as { count: number }).count, 7);
    assertEquals(
      (await back.client.request<{ status: string }>("GET", `/v1/transfers/${transferId}`)).status,
      "acknowledged",
    );
    assertEquals(await agentIds(g), []);
  } finally {
    await stopAll();
  }
});

/** The data of `host`'s events of `kind`, null while there are none of `kind` or `...or`. */
async function events(host: HostProcess, kind: string, ...or: string[]) {
  for (const k of [kind, ...or]) {
    if ((await eventData(host, k)).length > 0) return await eventData(host, kind);
  }
  return null;
}

/** What docs/mobility.md has an operator run on a stopped source whose paglet lives on elsewhere. */
async function settleByHand(dataDir: string, id: string, transferId: string): Promise<void> {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(`${dataDir}/host.sqlite`);
  try {
    db.exec(`BEGIN;
      DELETE FROM queued_messages WHERE agent_id = '${id}';
      DELETE FROM agents WHERE id = '${id}' AND status = 'moving';
      UPDATE transfers SET status = 'acknowledged' WHERE transfer_id = '${transferId}';
      COMMIT;`);
  } finally {
    db.close();
  }
}

Deno.test("a move that never came is refused, and the paglet restored, by a target with a short retention that forgot an earlier arrival", async () => {
  try {
    const port = freePort();
    const a = await startMobileHost("alpha", { port, env: { PAGLETS_FAULT: "exit-before-send" } });
    const b = await startMobileHost("beta", {
      args: ["--forwarding-retention", "1"],
      env: { PAGLETS_CLOCK_MARGIN_MS: "2000" },
    });
    const g = await startMobileHost("gamma");
    // Beta took a paglet from gamma and forgot that transfer (its retention and margin passed).
    const { id: earlier } = await g.client.createAgent({ type: "test.traveller" });
    await g.client.dispatch(earlier, b.url);
    const [stored] = await eventData(b, "transfer-stored");
    await forgotten(b, String(stored.transferId));
    // Alpha dies before it sends anything of its move to beta; back, it asks beta within beta's
    // retention of the departure, and more than beta's margin after what beta forgot: `refused`.
    const id = await dispatchAndDie(a, b);
    const back = await startMobileHost("alpha", { port, dataDir: a.dataDir });
    const settled = await eventually(
      "alpha settled the transfer",
      () => events(back, "transfer-settled", "transfer-expired"),
      20_000,
    );
    assertEquals(settled.map((d) => d.outcome), ["refused"]);
    assertEquals((await back.client.send(id, { kind: "get" }) as { count: number }).count, 7);
    assertEquals(await agentIds(b), [earlier]);
  } finally {
    await stopAll();
  }
});

Deno.test("a target's own unconfirmed departure of the paglet is not taken for the arrival of another host's move: one copy stays", async () => {
  try {
    const [pa, pb, pc] = [freePort(), freePort(), freePort()];
    // Beta moves the paglet to gamma and dies right after sending: its departure stays unconfirmed,
    // its record `moving`; gamma moves it on to alpha and stops.
    const b = await startMobileHost("beta", { port: pb, env: { PAGLETS_FAULT: "exit-after-send" } });
    const c = await startMobileHost("gamma", { port: pc });
    const a = await startMobileHost("alpha", { port: pa });
    const { id } = await b.client.createAgent({ type: "test.traveller" });
    await b.client.send(id, { kind: "set", args: { count: 7 } });
    await b.client.dispatch(id, c.url).then(() => {
      throw new Error("beta should have died");
    }, () => {});
    await b.process.status;
    await eventually("gamma has it", async () => (await agentIds(c)).includes(id), 20_000);
    await c.client.dispatch(id, a.url);
    await c.stop();
    // Beta is back (its departure unsettled: gamma is down); alpha moves another paglet there (its
    // yes for beta is remembered), then beta dies and alpha's move of the paglet to it is pending.
    let b2 = await startMobileHost("beta", { port: pb, dataDir: b.dataDir });
    const { id: other } = await a.client.createAgent({ type: "test.traveller" });
    await a.client.dispatch(other, b2.url);
    await b2.kill();
    await assertRejectsCode(() => a.client.dispatch(id, b2.url), "transfer_pending");
    // Beta back: it has no row of alpha's transfer, only its own departure's record of the paglet.
    b2 = await startMobileHost("beta", { port: pb, dataDir: b.dataDir });
    const settled = await eventually("alpha settled", () => events(a, "transfer-settled"), 30_000);
    assertEquals(settled.map((d) => d.outcome), ["refused"]);
    const g2 = await startMobileHost("gamma", { port: pc, dataDir: c.dataDir });
    await eventually("beta settled its departure", () => events(b2, "transfer-settled"), 30_000);
    const copies = [...await agentIds(a), ...await agentIds(b2), ...await agentIds(g2)].filter((x) =>
      x === id
    );
    assertEquals(copies, [id], "one live copy");
    assertEquals((await a.client.send(id, { kind: "get" }) as { count: number }).count, 7);
  } finally {
    await stopAll();
  }
});

Deno.test("another paglet of the same id on the target is not taken for the one that left: it stays reserved", async () => {
  try {
    // Alpha dies before it sends anything of the move of `job-1` (a client-chosen id) to beta;
    // meanwhile beta gets a `job-1` of its own (the idempotent launch the API offers).
    const port = freePort();
    const a = await startMobileHost("alpha", { port, env: { PAGLETS_FAULT: "exit-before-send" } });
    const b = await startMobileHost("beta");
    const id = "job-1";
    await a.client.createAgent({ type: "test.traveller", id });
    await a.client.send(id, { kind: "set", args: { count: 7 } });
    await a.client.dispatch(id, b.url).then(() => {
      throw new Error("the source should have died");
    }, () => {});
    await a.process.status;
    await b.client.createAgent({ type: "test.traveller", id });

    const back = await startMobileHost("alpha", { port, dataDir: a.dataDir });
    const expired = await eventually(
      "alpha to hear it cannot be settled",
      () => events(back, "transfer-expired", "transfer-settled"),
      20_000,
    );
    assertEquals(expired.length, 1);
    assertEquals(await eventData(back, "transfer-settled"), []);
    // The one that left (count 7) is kept reserved on alpha; beta's own is left alone.
    assertEquals((await back.client.getAgent(id)).status, "moving");
    assertEquals(((await back.client.getAgent(id)).state as { count: number }).count, 7);
    assertEquals((await b.client.send(id, { kind: "get" }) as { count: number }).count, 0);
  } finally {
    await stopAll();
  }
});
