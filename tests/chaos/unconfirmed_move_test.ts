/**
 * An agent held `moving` by a departure its target has not confirmed (the target died after storing
 * it, before acknowledging) is neither here nor gone: messages and disposals of it answer 409
 * `agent_moving` until the target answers. An acknowledgement then would be a promise the source
 * cannot keep: a message queued for the agent here leaves the store with the record once the
 * target confirms, and a record deleted here does not stop the agent from living on there.
 */
import { assert, assertEquals, assertRejectsCode } from "../helpers/assert.ts";
import { freePort, type HostProcess, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { agentIds, startMobileHost } from "../mobility/helpers.ts";
import { eventData, FAST_MESH, meshHosts, seesAllOnline } from "../mesh/helpers.ts";

Deno.test("an agent held moving by an unconfirmed departure refuses messages and disposal, and ends as one copy with its state", async () => {
  try {
    const port = freePort();
    const a = await startMobileHost("alpha");
    let b = await startMobileHost("beta", { port, env: { PAGLETS_FAULT: "exit-after-store" } });
    const { id } = await a.client.createAgent({ type: "test.traveller" });
    await a.client.send(id, { kind: "set", args: { count: 7 } });
    // Its last deactivation queued messages: the moving record keeps that policy.
    await a.client.deactivate(id, { activateOnMessage: false, queueMessagesWhenInactive: true });
    await a.client.activate(id);

    await assertRejectsCode(() => a.client.dispatch(id, b.url), "transfer_pending");
    await b.process.status; // the fault ended it
    assertEquals((await a.client.getAgent(id)).status, "moving");
    await assertRejectsCode(
      () => a.client.send(id, { kind: "increment", args: { by: 1 } }, { timeoutMs: 2000 }),
      "agent_moving",
    );
    await assertRejectsCode(() => a.client.dispose(id), "agent_moving");

    b = await startMobileHost("beta", { port, dataDir: b.dataDir });
    await eventually("alpha settled the transfer", async () => (await agentIds(a)).length === 0, 20_000);
    assertEquals(await a.client.getAgent(id), { id, movedTo: b.url });
    // Beta is in no mesh with alpha: alpha's backoff asked it.
    assertEquals((await eventData(a, "transfer-settled")).map((d) => [d.outcome, d.trigger]), [[
      "stored",
      "retry",
    ]]);
    assertEquals(await agentIds(b), [id]);
    assertEquals((await b.client.send(id, { kind: "get" }) as { count: number }).count, 7);
  } finally {
    await stopAll();
  }
});

/** FAST_MESH with these hosts as seeds. */
const mesh = (...peers: HostProcess[]) => [...FAST_MESH, ...peers.flatMap((p) => ["--peer", p.url])];

/**
 * Alpha (on `portA`, 0 for any) and beta (on `portB`, a mesh with alpha) move a paglet (count 7)
 * from alpha to beta, and beta dies after storing it, before acknowledging: the move is pending on
 * alpha (`transfer_pending`), beta's process has ended.
 */
async function unconfirmedMove(portA: number, portB: number) {
  const a = await startMobileHost("alpha", { ...(portA ? { port: portA } : {}), args: FAST_MESH });
  const b = await startMobileHost("beta", {
    port: portB,
    args: mesh(a),
    env: { PAGLETS_FAULT: "exit-after-store" },
  });
  await eventually("alpha to see beta", () => seesAllOnline(a, ["alpha", "beta"]));
  const { id } = await a.client.createAgent({ type: "test.traveller" });
  await a.client.send(id, { kind: "set", args: { count: 7 } });
  await assertRejectsCode(() => a.client.dispatch(id, b.url), "transfer_pending");
  await b.process.status;
  const { events } = await a.client.events(0, 1000);
  const transferId =
    (events.find((e) => e.kind === "transfer-retry")?.data as { transferId: string }).transferId;
  return { a, b, id, transferId };
}

Deno.test("an unconfirmed move is settled as soon as the mesh sees its target back, not at the resolver's next retry", async () => {
  try {
    const { a, b, id, transferId } = await unconfirmedMove(0, freePort());
    // Beta comes back at another address: until the mesh lists it there, alpha's retries ask its
    // old one, where nobody answers. The mesh's news of beta has alpha ask it there at once.
    const back = await startMobileHost("beta", { dataDir: b.dataDir, args: mesh(a) });
    await eventually("alpha settled the transfer", async () => (await agentIds(a)).length === 0, 30_000);
    assertEquals(await agentIds(back), [id]);
    const settled = await eventData(a, "transfer-settled");
    assertEquals(settled.length, 1, JSON.stringify(settled));
    const [{ outcome, trigger, target }] = settled;
    assertEquals([outcome, target, settled[0].transferId], ["stored", back.url, transferId]);
    assert(
      typeof trigger === "string" && trigger.startsWith("mesh-host-"),
      `settled by '${trigger}', not by the mesh seeing beta back`,
    );
    assertEquals((await back.client.send(id, { kind: "get" }) as { count: number }).count, 7);
  } finally {
    await stopAll();
  }
});

Deno.test("an unconfirmed move is settled by its target only, at whatever address it comes back; forwarding follows the target by name", async () => {
  try {
    const [portA, portB] = [freePort(), freePort()];
    let { a, b, id, transferId } = await unconfirmedMove(portA, portB);

    // Another host takes beta's old port: alpha's question about the transfer reaches it, and it has
    // never heard of the transfer. Its answer is not beta's: the agent stays moving on alpha.
    const delta = await startMobileHost("delta", { port: portB, args: mesh(a) });
    await eventually(
      "alpha to ask the host at beta's old address",
      async () =>
        (await delta.client.request<{ status: string }>("GET", `/v1/transfers/${transferId}`)).status,
      20_000,
    );
    // Beta comes back at another address: alpha finds it by name there, and beta's answer settles it.
    b = await startMobileHost("beta", { dataDir: b.dataDir, args: mesh(a) });
    await eventually("alpha settled the transfer", async () => (await agentIds(a)).length === 0, 45_000);
    assertEquals(await agentIds(b), [id]);
    assertEquals(await agentIds(delta), []);
    assertEquals(await a.client.getAgent(id), { id, movedTo: b.url });

    // Alpha restarts (it forgets which addresses beta had) and beta moves again: a message through
    // alpha follows its forwarding record by beta's name, to where beta is now.
    await a.stop();
    a = await startMobileHost("alpha", { port: portA, dataDir: a.dataDir, args: FAST_MESH });
    await b.stop();
    b = await startMobileHost("beta", { dataDir: b.dataDir, args: mesh(a) });
    await eventually("alpha to see beta at its new address", async () => {
      return (await meshHosts(a)).some((h) => h.name === "beta" && h.online && h.url === b.url);
    });
    assertEquals((await a.client.send(id, { kind: "get" }) as { count: number }).count, 7);
    assertEquals(await a.client.getAgent(id), { id, movedTo: b.url });
  } finally {
    await stopAll();
  }
});

Deno.test("an unconfirmed move is settled by its target's own id: not by another host of its name, and also after the target was renamed", async () => {
  try {
    const portB = freePort();
    const { a, b, id, transferId } = await unconfirmedMove(0, portB);

    // Another machine with the same name joins (a cloned image): the mesh lists beta there now, and
    // alpha asks it; it never had the transfer, and is not the host alpha sent the agent to.
    const twin = await startMobileHost("beta", { args: mesh(a) });
    await eventually(
      "alpha to ask the other beta",
      async () =>
        (await twin.client.request<{ status: string }>("GET", `/v1/transfers/${transferId}`)).status,
      30_000,
    );
    assertEquals((await a.client.getAgent(id)).status, "moving");

    // The target comes back at its address under another name: its id is its own, and it settles.
    const renamed = await startMobileHost("beta-renamed", { port: portB, dataDir: b.dataDir, args: mesh(a) });
    await eventually("alpha settled the transfer", async () => (await agentIds(a)).length === 0, 45_000);
    assertEquals(await agentIds(renamed), [id]);
    assertEquals(await agentIds(twin), []);
    assertEquals((await renamed.client.send(id, { kind: "get" }) as { count: number }).count, 7);
  } finally {
    await stopAll();
  }
});

Deno.test("an unconfirmed move is settled by its target back under another name at another address: the mesh finds it by its id", async () => {
  try {
    const { a, b, id, transferId } = await unconfirmedMove(0, freePort());
    // Neither beta's old name nor its old address leads to it: the mesh lists it by its id only.
    const renamed = await startMobileHost("beta-renamed", { dataDir: b.dataDir, args: mesh(a) });
    await eventually("alpha settled the transfer", async () => (await agentIds(a)).length === 0, 30_000);
    assertEquals(await agentIds(renamed), [id]);
    const settled = await eventData(a, "transfer-settled");
    assertEquals(settled.map((d) => [d.outcome, d.target, d.transferId]), [[
      "stored",
      renamed.url,
      transferId,
    ]]);
    // The move is recorded under the name it answered with: alpha forwards there.
    assertEquals(await a.client.getAgent(id), { id, movedTo: renamed.url });
    assertEquals((await a.client.send(id, { kind: "get" }) as { count: number }).count, 7);
  } finally {
    await stopAll();
  }
});
