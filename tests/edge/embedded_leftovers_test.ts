/**
 * Data folders that killed commands left behind (a SIGKILLed `paglets run` cannot remove its
 * embedded host's folder) are removed by the next embedded host (cli/embedded_leftovers.ts): those
 * over a minute old whose host lock nobody holds, or with no lock after ten minutes. A folder
 * whose host lives, and a folder just made, stay.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { paglets } from "../helpers/cli.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { testWithoutDefaultEntry } from "../helpers/default_entry.ts";

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function age(path: string, minutes: number): Promise<void> {
  const then = new Date(Date.now() - minutes * 60_000);
  await Deno.utime(path, then, then);
}

testWithoutDefaultEntry(
  "an embedded host removes the folders killed embedded hosts left, and only those",
  async () => {
    const tmp = await Deno.makeTempDir({ prefix: "paglets-tmpdir-" });
    try {
      const dir = (name: string) => `${tmp}/paglets-embedded-${name}`;
      // Killed after its host took the lock: the lock file is there, nobody holds it.
      await Deno.mkdir(dir("killed"));
      await Deno.writeTextFile(`${dir("killed")}/host.lock`, "12345\n");
      await age(dir("killed"), 2);
      // Killed before its host opened the lock, long ago; and one just made by a command starting now.
      await Deno.mkdir(dir("early"));
      await age(dir("early"), 20);
      await Deno.mkdir(dir("starting"));
      // A host running on its folder holds the lock, however old the folder is.
      const live = await startHost({ name: "live", dataDir: dir("live") });
      await age(dir("live"), 5);

      const run = await paglets(["examples", "pi", "--digits", "50"], { TMPDIR: tmp });
      assertEquals(run.code, 0, run.stderr);
      assert(run.stderr.includes("starting an embedded host"), run.stderr);
      assertEquals(
        [await exists(dir("killed")), await exists(dir("early")), await exists(dir("starting"))],
        [false, false, true],
      );
      assert(await exists(`${dir("live")}/host.lock`), "the live host's folder stays");
      assertEquals((await live.client.listAgents()).agents, []);
      const left: string[] = [];
      for await (const e of Deno.readDir(tmp)) left.push(e.name);
      assertEquals(
        left.sort(),
        ["paglets-embedded-live", "paglets-embedded-starting"],
        "its own folder went too",
      );
    } finally {
      await stopAll();
      await Deno.remove(tmp, { recursive: true });
    }
  },
);
