/**
 * A data dir whose database was damaged (truncated, overwritten, scribbled on, emptied): the host
 * refuses to start with `data_corrupt`, naming the file and what to do, and changes nothing. One
 * written by a newer version (a downgrade) is refused with `data_newer`.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { paglets } from "../helpers/cli.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { tempDir } from "../helpers/temp.ts";
import { DatabaseSync } from "node:sqlite";

/** A data dir a host used: three agents, then a graceful stop. */
async function usedDataDir(): Promise<string> {
  const host = await startHost({ name: "used" });
  for (let i = 0; i < 3; i++) await host.client.createAgent({ type: "demo.counter" });
  await host.stop();
  return host.dataDir;
}

/** Starts a host on a copy of `dataDir` after `damage` did its work on the copy's host.sqlite. */
async function startOnDamaged(dataDir: string, damage: (db: string) => Promise<void>) {
  const copy = await tempDir("paglets-test-damaged-");
  await new Deno.Command("cp", { args: ["-a", `${dataDir}/.`, copy] }).output();
  const db = `${copy}/host.sqlite`;
  await damage(db);
  const before = await Deno.readFile(db);
  const run = await paglets(["host", "--name", "damaged", "--port", "0", "--data-dir", copy]);
  return { run, db, unchanged: (await Deno.readFile(db)).length === before.length };
}

Deno.test("a damaged database stops the start with data_corrupt, naming the file and the way out", async () => {
  try {
    const dataDir = await usedDataDir();
    const size = (await Deno.stat(`${dataDir}/host.sqlite`)).size;
    const damages: [string, (db: string) => Promise<void>][] = [
      ["emptied", (db) => Deno.truncate(db, 0)],
      ["truncated", (db) => Deno.truncate(db, Math.floor(size / 2))],
      ["header overwritten", async (db) => {
        const f = await Deno.open(db, { write: true });
        await f.write(new TextEncoder().encode("this is not a database header"));
        f.close();
      }],
      ["pages scribbled on", async (db) => {
        const f = await Deno.open(db, { write: true });
        await f.seek(Math.min(16384, size - 8192), Deno.SeekMode.Start);
        await f.write(new Uint8Array(8192).fill(0x5a));
        f.close();
      }],
    ];
    for (const [what, damage] of damages) {
      const { run, db, unchanged } = await startOnDamaged(dataDir, damage);
      assertEquals(run.code, 1, `${what}: ${run.stderr}`);
      assert(
        run.stderr.includes("error [data_corrupt]") && run.stderr.includes(db),
        `${what}: ${run.stderr}`,
      );
      assert(/backup/.test(run.stderr), `${what}: ${run.stderr}`);
      assert(unchanged, `${what}: the file was left as it was`);
    }
  } finally {
    await stopAll();
  }
});

Deno.test("a data dir written by a newer version stops the start with data_newer, and changes nothing", async () => {
  try {
    const dataDir = await usedDataDir();
    const { run, db, unchanged } = await startOnDamaged(dataDir, (db) => {
      const sqlite = new DatabaseSync(db);
      sqlite.exec("PRAGMA user_version = 99");
      sqlite.close();
      return Promise.resolve();
    });
    assertEquals(run.code, 1, run.stderr);
    assert(run.stderr.includes("error [data_newer]") && run.stderr.includes(db), run.stderr);
    assert(/newer version of paglets \(database schema 99/.test(run.stderr), run.stderr);
    assert(unchanged, "the file was left as it was");
    const sqlite = new DatabaseSync(db);
    const { user_version } = sqlite.prepare("PRAGMA user_version").get() as { user_version: number };
    sqlite.close();
    assertEquals(user_version, 99);
  } finally {
    await stopAll();
  }
});
