/**
 * Partitions: hosts in network namespaces of their own (helpers/netns.ts); one is cut off from the
 * others in the middle of work and healed again.
 */
import { assertEquals } from "../helpers/assert.ts";
import { type HostProcess, startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { makeNetLab, type NetLab, netLabUnavailable } from "../helpers/netns.ts";
import { FAST_MESH, onlineMap, seesAllOnline } from "../mesh/helpers.ts";
import { TRAVELLER_MODULE } from "../mobility/helpers.ts";

/** FAST_MESH's --offline-after-ms, plus a few gossip rounds (docs/mesh.md). */
const OFFLINE_WITHIN_MS = 1500 + 2000;
const PORT = 8765;
const NAMES = ["alpha", "beta", "gamma"];
const unavailable = await netLabUnavailable();

async function labMesh(lab: NetLab): Promise<HostProcess[]> {
  const url = (i: number) => `http://${lab.addresses[i]}:${PORT}`;
  const hosts: HostProcess[] = [];
  for (const [i, name] of NAMES.entries()) {
    hosts.push(
      await startHost({
        name,
        netns: lab.namespaces[i],
        port: PORT,
        args: [
          "--bind",
          lab.addresses[i],
          "--public-url",
          url(i),
          "--module",
          TRAVELLER_MODULE,
          "--workers",
          "1",
          ...FAST_MESH,
          ...(i > 0 ? ["--peer", url(0)] : []),
        ],
      }),
    );
  }
  for (const host of hosts) {
    await eventually(`${host.name} sees the mesh`, () => seesAllOnline(host, NAMES), 15_000);
  }
  return hosts;
}

/** `host:status` of every copy of `id` across the mesh (moved-away records are not listed). */
async function copiesOf(hosts: HostProcess[], id: string): Promise<string[]> {
  const out: string[] = [];
  for (const host of hosts) {
    for (const agent of (await host.client.listAgents()).agents) {
      if (agent.id === id) out.push(`${host.name}:${agent.status}`);
    }
  }
  return out;
}

Deno.test({
  name:
    "a host cut off during a dispatch to it is offline everywhere in time, rejoins when healed, and the agent exists once",
  ignore: unavailable !== null,
  async fn() {
    const lab = await makeNetLab(NAMES.length);
    try {
      const [alpha, beta, gamma] = await labMesh(lab);
      const { id } = await alpha.client.createAgent({ type: "test.traveller" });
      await alpha.client.send(id, { kind: "set", args: { count: 7 } });

      await lab.cut(1);
      const moving = alpha.client.dispatch(id, beta.url).then(() => "moved", (err) => `failed: ${err.code}`);
      for (const host of [alpha, gamma]) {
        await eventually(
          `${host.name} sees beta offline`,
          async () => (await onlineMap(host)).beta === false,
          OFFLINE_WITHIN_MS,
          50,
        );
      }
      await lab.heal(1);
      for (const host of [alpha, beta, gamma]) {
        await eventually(`${host.name} sees the mesh again`, () => seesAllOnline(host, NAMES), 15_000);
      }
      console.log(`the dispatch during the cut: ${await moving}`);

      const copies = await eventually(
        "the transfer settled",
        async () => {
          const list = await copiesOf([alpha, beta, gamma], id);
          return list.length === 1 && /:(active|inactive)$/.test(list[0]) ? list : null;
        },
        45_000,
        200,
      );
      const host = [alpha, beta, gamma].find((h) => copies[0].startsWith(`${h.name}:`))!;
      assertEquals((await host.client.send(id, { kind: "get" }) as { count: number }).count, 7);
    } finally {
      await stopAll();
      await lab.close();
    }
  },
});
