import { join } from "node:path";
import { assertEquals } from "../../tests/helpers/assert.ts";
import { openDatabase } from "../storage/schema.ts";
import { AgentStore } from "../storage/agent_store.ts";
import { TransferLedger } from "./transfer_ledger.ts";

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
