/**
 * Chaos: SIGKILL hosts at seeded random points of a 50-job compute run on a 3-host mesh. Afterwards
 * every job exists exactly once across the mesh and has ended (COMPLETED, or FAILED_FINAL with its
 * reason). `PAGLETS_CHAOS_SEED=n` replays a run.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { freePort, type HostProcess, startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { prng } from "../helpers/prng.ts";
import { FAST_MESH, seesAllOnline } from "../mesh/helpers.ts";

const JOBS = 50;
const KILLS = 3;
const NAMES = ["alpha", "beta", "gamma"];

function start(i: number, ports: number[], dataDir?: string): Promise<HostProcess> {
  return startHost({
    name: NAMES[i],
    port: ports[i],
    dataDir,
    args: [...FAST_MESH, ...(i > 0 ? ["--peer", `http://127.0.0.1:${ports[0]}`] : [])],
  });
}

/** `id → [host:computeStatus, ...]` over every host (moved-away records are not listed). */
async function jobCensus(hosts: HostProcess[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const host of hosts) {
    for (const agent of (await host.client.listAgents({ type: "demo.spinjob" })).agents) {
      const id = String(agent.id);
      const view = await host.client.getAgent(id).catch(() => null);
      const status = (view?.state as { computeStatus?: string } | undefined)?.computeStatus ?? "?";
      out.set(id, [...(out.get(id) ?? []), `${host.name}:${status}`]);
    }
  }
  return out;
}

Deno.test("hosts killed at random points of a 50-job run: every job exists once and ends", async () => {
  const seed = Number(Deno.env.get("PAGLETS_CHAOS_SEED") ?? Date.now() % 100_000);
  console.log(`chaos seed ${seed} (replay with PAGLETS_CHAOS_SEED=${seed})`);
  const random = prng(seed);
  try {
    const ports = NAMES.map(() => freePort());
    const hosts: HostProcess[] = [];
    for (let i = 0; i < NAMES.length; i++) hosts.push(await start(i, ports));
    for (const host of hosts) {
      await eventually(`${host.name} sees the mesh`, () => seesAllOnline(host, NAMES), 15_000);
    }

    const killAt = new Set<number>();
    while (killAt.size < KILLS) killAt.add(5 + Math.floor(random() * (JOBS - 10)));
    const ids: string[] = [];
    for (let n = 0; n < JOBS; n++) {
      if (killAt.has(n)) {
        const i = Math.floor(random() * hosts.length);
        await hosts[i].kill();
        hosts[i] = await start(i, ports, hosts[i].dataDir);
      }
      const host = hosts[n % hosts.length];
      const { id } = await host.client.createAgent({
        type: "demo.spinjob",
        state: { cpuCores: 1, ms: 20 + Math.floor(random() * 80) },
      });
      ids.push(id);
    }

    const final = await eventually(
      "every job ended on exactly one host",
      async () => {
        const census = await jobCensus(hosts);
        const done = ids.every((id) => {
          const places = census.get(id) ?? [];
          return places.length === 1 && /:(COMPLETED|FAILED_FINAL)$/.test(places[0]);
        });
        return done ? census : null;
      },
      120_000,
      500,
    ).catch(async (err) => {
      throw new Error(`${err.message}\nlast census: ${JSON.stringify([...(await jobCensus(hosts))])}`);
    });
    assertEquals([...final.keys()].sort(), [...ids].sort(), "the jobs across the mesh");
    const completed = ids.filter((id) => final.get(id)![0].endsWith(":COMPLETED")).length;
    console.log(`${completed} of ${JOBS} jobs completed, ${JOBS - completed} failed for good`);
    assert(completed > 0, "some jobs completed");
  } finally {
    await stopAll();
  }
});
