/**
 * Chaos: SIGKILL hosts at seeded random points of a stream of moves. Afterwards every agent exists
 * exactly once across the mesh. The seed is printed, and
 * `PAGLETS_CHAOS_SEED=n` replays a run.
 */
import { assertEquals } from "../helpers/assert.ts";
import { freePort, type HostProcess, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { prng } from "../helpers/prng.ts";
import { startMobileHost } from "../mobility/helpers.ts";

const AGENTS = 12;
const MOVES = 100;
const KILLS = 6;
const RUN_LIMIT_MS = 60_000;

/** Where each agent lives: the ids each host lists, by host name (moved-away records are not listed). */
async function census(hosts: HostProcess[]): Promise<Map<string, string[]>> {
  const where = new Map<string, string[]>();
  for (const host of hosts) {
    const { agents } = await host.client.listAgents();
    for (const agent of agents) {
      const id = String(agent.id);
      where.set(id, [...(where.get(id) ?? []), `${host.name}:${agent.status}`]);
    }
  }
  return where;
}

Deno.test("hosts killed at random points of a stream of moves lose and duplicate no agent", async () => {
  const seed = Number(Deno.env.get("PAGLETS_CHAOS_SEED") ?? Date.now() % 100_000);
  console.log(`chaos seed ${seed} (replay with PAGLETS_CHAOS_SEED=${seed})`);
  const random = prng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)];
  try {
    const names = ["alpha", "beta", "gamma"];
    const ports = names.map(() => freePort());
    const hosts = await Promise.all(names.map((name, i) => startMobileHost(name, { port: ports[i] })));
    const ids: string[] = [];
    for (let i = 0; i < AGENTS; i++) {
      ids.push((await hosts[i % hosts.length].client.createAgent({ type: "test.traveller" })).id);
    }

    // Moves run in the background, a few at a time; kills land between them at seeded points.
    const killAt = new Set<number>();
    while (killAt.size < KILLS) killAt.add(1 + Math.floor(random() * (MOVES - 2)));
    const inFlight = new Set<Promise<unknown>>();
    const deadline = Date.now() + RUN_LIMIT_MS;
    let moves = 0, acknowledged = 0;
    for (let step = 0; step < MOVES && Date.now() < deadline; step++) {
      if (killAt.has(step)) {
        const i = Math.floor(random() * hosts.length);
        await hosts[i].kill();
        hosts[i] = await startMobileHost(names[i], { port: ports[i], dataDir: hosts[i].dataDir });
      }
      const id = pick(ids);
      const where = (await census(hosts)).get(id)?.find((w) =>
        w.endsWith(":active") || w.endsWith(":inactive")
      );
      if (!where) continue; // moving right now, or its host is restarting
      const from = hosts[names.indexOf(where.split(":")[0])];
      const to = pick(hosts.filter((h) => h !== from));
      moves++;
      const move = from.client.dispatch(id, to.url).then(
        () => acknowledged++,
        () => {/* may fail: a host died */},
      );
      inFlight.add(move);
      void move.finally(() => inFlight.delete(move));
      if (inFlight.size >= 3) await Promise.race(inFlight);
    }
    await Promise.allSettled(inFlight);
    console.log(`${moves} moves started, ${acknowledged} acknowledged, ${KILLS} kills`);

    // Settled: every agent listed on exactly one host, active or inactive, none moving.
    const final = await eventually(
      "every transfer settled",
      async () => {
        const where = await census(hosts);
        const settled = ids.every((id) => {
          const places = where.get(id) ?? [];
          return places.length === 1 && /:(active|inactive)$/.test(places[0]);
        });
        return settled ? where : null;
      },
      45_000,
      200,
    ).catch(async (err) => {
      throw new Error(`${err.message}\nlast census: ${JSON.stringify([...(await census(hosts))])}`);
    });
    assertEquals([...final.keys()].sort(), [...ids].sort(), "the agents across the mesh");
  } finally {
    await stopAll();
  }
});
