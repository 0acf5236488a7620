import { join } from "node:path";
import { assertEquals } from "../../tests/helpers/assert.ts";
import { openDatabase } from "../storage/schema.ts";
import { type AgentRecord, AgentStore } from "../storage/agent_store.ts";
import { toMessage } from "../../agents/message.ts";
import { TransferLedger } from "./transfer_ledger.ts";
import { CLOCK_MARGIN_MS, unknownTransferVerdict } from "./forgotten_transfers.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A ledger on a fresh database, and a way to add rows of a given status and age. */
async function ledger() {
  const dir = await Deno.makeTempDir({ prefix: "paglets-test-ledger-" });
  const { db, raw } = openDatabase(join(dir, "host.sqlite"));
  const store = new AgentStore(db, raw.raw);
  let n = 0;
  const add = (count: number, status: string, ageMs: number, direction = "in") => {
    const at = Date.now() - ageMs;
    raw.raw.exec("BEGIN");
    const insert = raw.raw.prepare(
      "INSERT INTO transfers (transfer_id, agent_id, direction, status, peer, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    for (let i = 0; i < count; i++, n++) {
      insert.run(`t${n}`, `ag_${n}`, direction, status, "http://peer", at - i, at - i);
    }
    raw.raw.exec("COMMIT");
  };
  const count = (where: string) =>
    (raw.raw.prepare(`SELECT count(*) AS n FROM transfers WHERE ${where}`).get() as { n: number }).n;
  return {
    ledger: new TransferLedger(store),
    store,
    add,
    count,
    async [Symbol.asyncDispose]() {
      await db.destroy();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("prune keeps unsettled rows and arrivals for the retention; finished departures and refusals past the cap once a day old", async () => {
  await using t = await ledger();
  t.add(10, "arrived", 2 * DAY);
  t.add(10, "acknowledged", 2 * DAY, "out");
  t.add(10, "refused", HOUR);
  t.add(3, "pending", 3 * DAY, "out");
  t.add(2, "stored", 3 * DAY);
  // Within a 7-day retention; a cap of 5 takes the day-old departures only: the refusals are
  // younger than a day, the arrivals answer late questions.
  assertEquals(await t.ledger.prune(7 * DAY, 5), 10);
  assertEquals(t.count("status = 'acknowledged'"), 0);
  assertEquals([t.count("status = 'arrived'"), t.count("status = 'refused'")], [10, 10]);
  // Past a 30-minute retention, every settled row goes; unsettled ones stay.
  assertEquals(await t.ledger.prune(HOUR / 2, 1000), 20);
  assertEquals(t.count("1"), 5);
});

Deno.test("prune keeps the newest finished departures up to the cap, and deletes in steps", async () => {
  await using t = await ledger();
  t.add(12_345, "acknowledged", 2 * DAY, "out");
  assertEquals(await t.ledger.prune(7 * DAY, 1000), 11_345);
  assertEquals(t.count("1"), 1000);
  // The newest were kept.
  assertEquals(t.count("transfer_id = 't0'"), 1);
});

Deno.test("prune remembers the newest arrival it forgot, and never forgets less", async () => {
  await using t = await ledger();
  t.add(3, "arrived", 2 * DAY);
  t.add(3, "refused", 3 * HOUR);
  t.add(3, "acknowledged", 3 * HOUR, "out");
  assertEquals(t.ledger.forgottenThrough(), null);
  await t.ledger.prune(7 * DAY);
  assertEquals(t.ledger.forgottenThrough(), null, "no arrival was pruned");
  await t.ledger.prune(HOUR);
  // The newest of the pruned arrivals (added 2 days ago), not the refusals or departures pruned too.
  const through = t.ledger.forgottenThrough()!;
  assertEquals(Math.abs(through - (Date.now() - 2 * DAY)) < HOUR, true, `${through}`);
  assertEquals(t.count("1"), 0);
  await t.ledger.prune(HOUR);
  assertEquals(t.ledger.forgottenThrough(), through);
});

/** An agent record of `status` (an arrival's when `arriving`). */
function record(id: string, status: AgentRecord["status"], arriving = false): Omit<AgentRecord, "updatedAt"> {
  const meta = arriving ? { arrival: { transferId: "tr_back", kind: "dispatch" } } : {};
  return { id, type: "t", status, state: new Uint8Array([1]), policy: null, createdAt: 1, meta };
}

const target = { url: "http://target", name: "target", id: "h_target" };

Deno.test("a departure settled twice drops the local copy once: a late settling leaves the agent that came back, and its stored messages", async () => {
  await using t = await ledger();
  await t.ledger.beginDeparture("tr_out", "ag_x", target, record("ag_x", "moving"));
  await t.store.enqueue("ag_x", toMessage({ kind: "left-with-it" }), true);
  // The agent came back before the resolver's settling ran: the arrival settled the departure, and
  // its record (not started yet: `moving`, with its arrival note) and stored messages are here.
  assertEquals(await t.ledger.finishDeparture("tr_out", "ag_x", target), true);
  assertEquals(await t.store.movedTo("ag_x"), { url: target.url, name: target.name });
  await t.ledger.storeArrival("tr_back", target.url, record("ag_x", "moving", true), [
    { message: toMessage({ kind: "came-back-with-it" }), oneway: true, queuedAt: 2 },
  ]);
  assertEquals(await t.ledger.finishDeparture("tr_out", "ag_x", target), false);
  assertEquals((await t.store.get("ag_x"))?.meta, record("ag_x", "moving", true).meta);
  assertEquals((await t.store.queued("ag_x")).map((q) => q.message.kind), ["came-back-with-it"]);
  assertEquals(await t.store.movedTo("ag_x"), null);
});

Deno.test("a clone's transfer settled as stored leaves the clone's own records here alone", async () => {
  await using t = await ledger();
  // The clone left unconfirmed; it came back here since and is leaving again, unconfirmed too.
  await t.ledger.beginDeparture("tr_clone", "ag_c", target, null);
  await t.ledger.beginDeparture("tr_again", "ag_c", target, record("ag_c", "moving"));
  assertEquals(await t.ledger.finishDeparture("tr_clone", "ag_c", target), false);
  assertEquals((await t.store.get("ag_c"))?.status, "moving");
  assertEquals((await t.ledger.get("tr_clone"))?.status, "acknowledged");
  assertEquals(await t.ledger.finishDeparture("tr_again", "ag_c", target), true);
  assertEquals(await t.store.get("ag_c"), null);
});

Deno.test("deleteMoving leaves an arrival's record and its stored messages", async () => {
  await using t = await ledger();
  await t.store.put(record("ag_a", "moving", true));
  await t.store.enqueue("ag_a", toMessage({ kind: "m" }), true);
  let deleted = true;
  await t.store.transaction((tx) => void (deleted = tx.deleteMoving("ag_a")));
  assertEquals(deleted, false);
  assertEquals([(await t.store.get("ag_a"))?.status, (await t.store.queued("ag_a")).length], ["moving", 1]);
});

Deno.test("an expired departure is no longer pending, outlives every prune, and is settled when its agent comes back", async () => {
  await using t = await ledger();
  t.add(1, "pending", 3 * DAY, "out");
  assertEquals(await t.ledger.expireDeparture("t0"), true);
  assertEquals(await t.ledger.list("out", "pending"), []);
  await t.ledger.prune(HOUR / 2, 0);
  assertEquals(t.ledger.unsettledDepartureOf("ag_0")?.status, "expired");
  // Only a pending one expires: one settled meanwhile stays settled.
  assertEquals(await t.ledger.expireDeparture("t0"), false);
  await t.ledger.finishDeparture("t0", "ag_0", { url: "http://peer", name: null });
  assertEquals((await t.ledger.get("t0"))?.status, "acknowledged");
  assertEquals(t.ledger.unsettledDepartureOf("ag_0"), null);
});

Deno.test("a retention shorter than the clock margin still tells a departure that never came so: arrivals are kept the margin longer", async () => {
  await using t = await ledger();
  // Arrived 30 s ago on a host whose retention is a second: kept until the retention plus the
  // margin (a minute) passed, so nothing forgotten comes within the margin of a departure now.
  t.add(1, "arrived", 30_000);
  await t.ledger.prune(1000);
  assertEquals([t.count("1"), t.ledger.forgottenThrough()], [1, null]);
  const now = Date.now();
  assertEquals(
    unknownTransferVerdict({
      now,
      ageMs: 2000,
      living: null,
      agentCreatedAt: undefined,
      forgottenThrough: t.ledger.forgottenThrough(),
    }),
    "never",
  );
  // Past both, it goes, and a departure from before it may have been it.
  t.add(1, "arrived", 1000 + CLOCK_MARGIN_MS + 5000);
  await t.ledger.prune(1000);
  assertEquals(t.count("1"), 1);
  assertEquals(t.ledger.forgottenThrough() !== null, true);
});

Deno.test("a ledger's clock margin (PAGLETS_CLOCK_MARGIN_MS) is how long past the retention it keeps arrivals", async () => {
  const dir = await Deno.makeTempDir({ prefix: "paglets-test-ledger-" });
  const { db, raw } = openDatabase(join(dir, "host.sqlite"));
  try {
    const ledger = new TransferLedger(new AgentStore(db, raw.raw), { clockMarginMs: 2000 });
    const at = Date.now() - 3500;
    raw.raw.prepare(
      "INSERT INTO transfers (transfer_id, agent_id, direction, status, peer, created_at, updated_at) VALUES ('t', 'ag', 'in', 'arrived', 'p', ?, ?)",
    ).run(at, at);
    assertEquals(await ledger.prune(1000), 1);
    assertEquals(ledger.forgottenThrough(), at);
  } finally {
    await db.destroy();
    await Deno.remove(dir, { recursive: true });
  }
});
