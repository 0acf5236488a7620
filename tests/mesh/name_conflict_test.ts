/**
 * Two live hosts with one name (cloned machines share their host name, the default `--name`): the
 * one started later holds the name in the mesh, as before, and now both say so once, on stderr and
 * as a `mesh-name-conflict` event, and the earlier one lists itself as `displaced`.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { paglets } from "../helpers/cli.ts";
import { type HostProcess, startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { eventData, FAST_MESH, meshHosts, moreRounds } from "./helpers.ts";

/** The host's stderr warnings that name `other`'s URL and say what to do. */
function conflictWarnings(host: HostProcess, other: HostProcess): string[] {
  return host.stderr.filter((line) =>
    line.startsWith("warning:") && line.includes(other.url) &&
    line.endsWith("restart one of them with another --name")
  );
}

Deno.test("two live hosts with one name both say so once; the later keeps the name, the earlier lists itself displaced", async () => {
  try {
    const m = await startHost({ name: "m", args: FAST_MESH });
    const twinOf = async (host: HostProcess) => (await meshHosts(host)).find((h) => h.name === "twin");
    const first = await startHost({ name: "twin", args: [...FAST_MESH, "--peer", m.url] });
    await eventually("m to list the first twin", async () => (await twinOf(m))?.url === first.url);
    const second = await startHost({ name: "twin", args: [...FAST_MESH, "--peer", m.url] });
    await eventually("m to list the later twin under the name", async () => {
      const twin = await twinOf(m);
      return twin?.url === second.url && twin.online;
    });
    await eventually(
      "both twins to say so",
      () => conflictWarnings(first, second).length > 0 && conflictWarnings(second, first).length > 0,
    );
    assert(
      conflictWarnings(first, second)[0].includes("took this host's name 'twin'"),
      conflictWarnings(first, second)[0],
    );
    assert(
      conflictWarnings(second, first)[0].includes("uses this host's name 'twin'"),
      conflictWarnings(second, first)[0],
    );

    const firstSelf = (await meshHosts(first)).find((h) => h.self)!;
    assertEquals([firstSelf.url, firstSelf.state, firstSelf.online], [first.url, "displaced", true]);
    assertEquals((await meshHosts(second)).find((h) => h.self)!.state, "online");
    const table = await paglets(["mesh", "hosts", "--entry", first.url]);
    assertEquals(table.code, 0, table.stderr);
    const row = table.stdout.split("\n").find((line) => line.includes(" twin * ")) ?? "";
    assert(row.includes(first.url) && row.includes("displaced"), table.stdout);

    // Ten more rounds of each: still one line and one event each.
    await Promise.all([moreRounds(first, 10), moreRounds(second, 10)]);
    assertEquals([conflictWarnings(first, second).length, conflictWarnings(second, first).length], [1, 1]);
    const [lost, kept] = [
      await eventData(first, "mesh-name-conflict"),
      await eventData(second, "mesh-name-conflict"),
    ];
    assertEquals(lost.map((e) => [e.name, e.url, e.displaced]), [["twin", second.url, true]]);
    assertEquals(kept.map((e) => [e.name, e.url, e.displaced]), [["twin", first.url, false]]);
    // Which host wins is unchanged: the later one, for the rest of the mesh.
    assertEquals((await twinOf(m))?.url, second.url);
  } finally {
    await stopAll();
  }
});
