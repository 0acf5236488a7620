/** `paglets jobs ps` lists every compute job a host holds, whatever its record's status. */
import { join } from "../../agents/paths.ts";
import { assertEquals } from "../helpers/assert.ts";
import { jsonOf, paglets } from "../helpers/cli.ts";
import { eventually } from "../helpers/in_process.ts";
import { computeHost, knowsScheduler } from "./helpers.ts";

type Row = { host: string; ok: boolean; view: { agentId: string; status: string; computeStatus: string }[] };

Deno.test("a job on its way to another host, stored there and not yet started, is listed by jobs ps", async () => {
  await using home = await computeHost({ name: "home" });
  await using far = await computeHost({ name: "far", peers: [home.host.url] });
  await eventually("home knows far's scheduler", () => knowsScheduler(home.client, "far"), 20_000);
  const gate = join(home.dataDir, "arrival-gate");
  // Not allowed on its home host: it goes to far, whose start of it waits for the gate.
  const { id } = await home.client.createAgent({
    type: "test.arrivalgatedjob",
    state: { arrivalGate: gate },
  });
  try {
    await eventually(
      "far to hold the job, not yet started",
      async () => (await far.client.getAgent(id) as { status?: string }).status === "moving",
      20_000,
    );
    const listed = jsonOf<Row[]>(
      await paglets(["jobs", "ps", "--all-hosts", "--json", "--entry", home.host.url]),
    );
    const rows = listed.flatMap((h) =>
      h.view.filter((j) => j.agentId === id).map((j) => ({ host: h.host, ...j }))
    );
    assertEquals(rows.map((r) => [r.host, r.status, r.computeStatus]), [["far", "moving", "PLACING"]]);
    // jobs rm leaves a moving job alone, and says so: a dispose would not reach it.
    const rm = jsonOf<{ removed: string[]; skipped: { agentId: string }[] }>(
      await paglets([
        "jobs",
        "rm",
        "--all",
        "--state",
        "PLACING",
        "--force",
        "--json",
        "--entry",
        far.host.url,
      ]),
    );
    assertEquals([rm.removed, rm.skipped.map((j) => j.agentId)], [[], [id]]);
  } finally {
    await Deno.writeTextFile(gate, "");
  }
  await eventually(
    "the job to start on far",
    async () => (await far.client.getAgent(id) as { status?: string }).status !== "moving",
    20_000,
  );
});

Deno.test("a crashed job is listed by jobs ps as crashed until it is removed", async () => {
  await using h = await computeHost({ name: "crashes" });
  const { id } = await h.client.createAgent({ type: "test.crashingjob" });
  await eventually(
    "the job to crash",
    async () => (await h.client.getAgent(id) as { status?: string }).status === "crashed",
    20_000,
  );
  const rows = jsonOf<{ agentId: string; status: string }[]>(
    await paglets(["jobs", "ps", "--json", "--entry", h.host.url]),
  );
  assertEquals(rows.filter((r) => r.agentId === id).map((r) => r.status), ["crashed"]);
  await h.client.dispose(id);
  const after = jsonOf<{ agentId: string }[]>(await paglets(["jobs", "ps", "--json", "--entry", h.host.url]));
  assertEquals(after.filter((r) => r.agentId === id), []);
});
