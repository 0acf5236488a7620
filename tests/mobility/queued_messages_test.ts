/**
 * Messages stored for an inactive agent (answered `queued`) travel with it: whichever host it ends
 * up on, after a plain dispatch, a source or target killed mid-way, or a target that refuses the
 * transfer, each of them is handled exactly once, in the order it was sent.
 */
import { assert, assertEquals, assertRejectsCode } from "../helpers/assert.ts";
import { freePort, type HostProcess, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { agentIds, startMobileHost } from "./helpers.ts";
import { hostRow } from "../helpers/host_db.ts";

/** Messages stored for the agent before it moves. */
const N = 40;
/** Each handler takes this long: most stored messages still wait when the agent leaves. */
const HANDLER_MS = 20;

/** A traveller on `host`, inactive with N `note` messages stored for it. */
async function agentWithQueue(host: HostProcess): Promise<string> {
  const { id } = await host.client.createAgent({ type: "test.traveller" });
  await host.client.deactivate(id, { activateOnMessage: false, queueMessagesWhenInactive: true });
  for (let n = 0; n < N; n++) {
    const answer = await host.client.send(id, { kind: "note", args: { n, ms: HANDLER_MS } });
    assertEquals((answer as { queued?: boolean }).queued, true);
  }
  assertEquals(queuedRows(host, id), N);
  return id;
}

/** The notes of the agent on `host`, once it has handled N of them (or more). */
async function notesAfterAll(host: HostProcess, id: string, timeoutMs = 20_000): Promise<string[]> {
  return await eventually(`${N} notes handled on ${host.name}`, async () => {
    const state = await host.client.send(id, { kind: "get" }) as { notes?: string[] };
    return (state.notes?.length ?? 0) >= N ? state.notes! : null;
  }, timeoutMs);
}

/** Each note handled once, in order (the host each was handled on stripped). */
function assertOnceInOrder(notes: string[]): void {
  assertEquals(notes.map((n) => Number(n.split("@")[0])), [...Array(N).keys()], notes.join(" "));
}

/** Stored messages of `id` left in `host`'s database (read directly: nothing would hand them over). */
function queuedRows(host: HostProcess, id: string): number {
  const sql = "SELECT count(*) AS n FROM queued_messages WHERE agent_id = ?";
  return Number(hostRow<{ n: number }>(host.dataDir, sql, id)!.n);
}

/**
 * Once the source has settled the transfer: the agent and every note are on the target, each note
 * handled once and in order, the source keeps a forwarding record, and no stored message is left.
 */
async function assertSettledOnTarget(a: HostProcess, b: HostProcess, id: string): Promise<void> {
  await eventually("alpha settled the transfer", async () => (await agentIds(a)).length === 0, 20_000);
  assertOnceInOrder(await notesAfterAll(b, id));
  assertEquals(await a.client.getAgent(id), { id, movedTo: b.url });
  assertEquals(await agentIds(b), [id]);
  assertEquals([queuedRows(a, id), queuedRows(b, id)], [0, 0]);
}

Deno.test("stored messages of a dispatched agent are handled once each, in order, after the move", async () => {
  try {
    const [a, b] = await Promise.all([startMobileHost("alpha"), startMobileHost("beta")]);
    const id = await agentWithQueue(a);

    assertEquals(await a.client.dispatch(id, b.url), { id, host: b.url });
    const notes = await notesAfterAll(b, id);
    assertOnceInOrder(notes);
    assert(notes.some((n) => n.endsWith("@beta")), `some handled on beta: ${notes.join(" ")}`);
    assertEquals(await agentIds(a), []);
    assertEquals(await agentIds(b), [id]);
    assertEquals([queuedRows(a, id), queuedRows(b, id)], [0, 0]);
  } finally {
    await stopAll();
  }
});

Deno.test("stored messages survive a source killed right after sending: handled once each, in order, on the target", async () => {
  try {
    const port = freePort();
    let a = await startMobileHost("alpha", { port, env: { PAGLETS_FAULT: "exit-after-send" } });
    const b = await startMobileHost("beta");
    const id = await agentWithQueue(a);

    await a.client.dispatch(id, b.url).then(() => {
      throw new Error("the source should have died");
    }, () => {});
    await a.process.status;
    a = await startMobileHost("alpha", { port, dataDir: a.dataDir });
    await assertSettledOnTarget(a, b, id);
  } finally {
    await stopAll();
  }
});

Deno.test("stored messages survive a target killed after storing: handled once each, in order, on the target", async () => {
  try {
    const port = freePort();
    const a = await startMobileHost("alpha");
    let b = await startMobileHost("beta", { port, env: { PAGLETS_FAULT: "exit-after-store" } });
    const id = await agentWithQueue(a);

    await assertRejectsCode(() => a.client.dispatch(id, b.url), "transfer_pending");
    await b.process.status;
    b = await startMobileHost("beta", { port, dataDir: b.dataDir });
    await assertSettledOnTarget(a, b, id);
  } finally {
    await stopAll();
  }
});

Deno.test("stored messages of an agent whose transfer the target refuses are handled once each, in order, on the source", async () => {
  try {
    const [a, b] = await Promise.all([startMobileHost("alpha"), startMobileHost("beta")]);
    const id = await agentWithQueue(a);
    // beta's yes to a traveller is remembered; then an agent of that id appears there: the
    // preflight passes (from the cache) and the transfer itself is refused.
    const decoy = await a.client.createAgent({ type: "test.traveller" });
    await a.client.dispatch(decoy.id, b.url);
    await b.client.createAgent({ type: "test.traveller", id });

    await assertRejectsCode(() => a.client.dispatch(id, b.url), "state_conflict");
    const notes = await notesAfterAll(a, id);
    assertOnceInOrder(notes);
    assert(notes.every((n) => n.endsWith("@alpha")), notes.join(" "));
    assertEquals(queuedRows(a, id), 0);
    const state = await a.client.send(id, { kind: "get" }) as { events: string[] };
    assert(state.events.includes("activation:alpha:dispatch-failed"), state.events.join(" "));
    // beta's own agent of that id got none of them.
    assertEquals((await b.client.send(id, { kind: "get" }) as { notes?: string[] }).notes, undefined);
  } finally {
    await stopAll();
  }
});
