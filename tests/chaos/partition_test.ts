/**
 * Partitions: hosts in network namespaces of their own (helpers/netns.ts); one is cut off from the
 * others in the middle of work (a dispatch; a job group's slot grants and collector reports) and
 * healed again.
 */
import type { GroupSummary } from "../../agents/job_groups/contract.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
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

const GROUP_JOBS = new URL("../compute/fixtures/group_jobs.ts", import.meta.url).href;

async function labMesh(
  lab: NetLab,
  { module = TRAVELLER_MODULE, env = {} }: { module?: string; env?: Record<string, string> } = {},
): Promise<HostProcess[]> {
  const url = (i: number) => `http://${lab.addresses[i]}:${PORT}`;
  const hosts: HostProcess[] = [];
  for (const [i, name] of NAMES.entries()) {
    hosts.push(
      await startHost({
        name,
        netns: lab.namespaces[i],
        port: PORT,
        env,
        args: [
          "--bind",
          lab.addresses[i],
          "--public-url",
          url(i),
          "--module",
          module,
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

      let moving: Promise<string> | undefined;
      await cutAndHeal(lab, [alpha, beta, gamma], 1, () => {
        moving = alpha.client.dispatch(id, beta.url).then(() => "moved", (err) => `failed: ${err.code}`);
      });
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

/**
 * Cuts host i off (then runs `during`), waits until every other host sees it offline, heals it, and
 * waits until every host sees the whole mesh again.
 */
async function cutAndHeal(lab: NetLab, hosts: HostProcess[], i: number, during = () => {}): Promise<void> {
  await lab.cut(i);
  during();
  for (const host of hosts.filter((_, j) => j !== i)) {
    await eventually(
      `${host.name} sees ${NAMES[i]} offline`,
      async () => (await onlineMap(host))[NAMES[i]] === false,
      OFFLINE_WITHIN_MS,
      50,
    );
  }
  await lab.heal(i);
  for (const host of hosts) {
    await eventually(`${host.name} sees the mesh again`, () => seesAllOnline(host, NAMES), 15_000);
  }
}

Deno.test({
  name:
    "a host cut off while a job group is placed and reports: every job ends once, as a result or a failure, and no job agent is left",
  ignore: unavailable !== null,
  async fn() {
    const lab = await makeNetLab(NAMES.length);
    try {
      const hosts = await labMesh(lab, {
        module: GROUP_JOBS,
        env: { PAGLETS_COMPUTE_GOSSIP_MS: "300", PAGLETS_COMPUTE_SAMPLE_MS: "500" },
      });
      const [alpha] = hosts;
      const { id: submitter } = await alpha.client.createAgent({ type: "test.group_submitter" });
      const states = Array.from(
        { length: 10 },
        (_, i) => ({ n: i + 1, stepMs: 1200, reportRetrySeconds: 0.3, reportRetryMaxSeconds: 1 }),
      );
      const group = await alpha.client.send(submitter, {
        kind: "submit",
        args: { type: "test.squarejob", states, options: { groupId: "cut" } },
      }, { timeoutMs: 60_000 }) as { collector: { id: string }; jobs: { jobKey: string }[] };
      // Cut beta once it holds jobs: while the others still ask for cores (grants, redirects) and
      // while those it runs finish and try to report to the collector on alpha.
      await eventually(
        "beta holds jobs",
        async () => (await hosts[1].client.listAgents({ type: "test.squarejob" })).agents.length > 0,
        20_000,
        50,
      );
      await cutAndHeal(lab, hosts, 1);

      const summary = await eventually(
        "the group to complete",
        async () => {
          const s = await alpha.client.send(group.collector.id, { kind: "drain" }).catch(() => null) as
            | GroupSummary
            | null;
          return s?.complete && s;
        },
        90_000,
        250,
      );
      const done = Object.keys(summary.results), failed = Object.keys(summary.failures);
      const places = done.map((k) => (summary.results[k].result as { computedOn: string }).computedOn);
      console.log(
        `after the cut: ${done.length} results (computed on ${places.sort().join(" ")}), ` +
          `${failed.length} failures, ${summary.duplicateCount} duplicates`,
      );
      assertEquals([...done, ...failed].sort(), group.jobs.map((j) => j.jobKey).sort(), "each job ends once");
      assert(done.every((k) => !failed.includes(k)), "no job is both a result and a failure");
      for (const key of done) {
        const n = Number(key.slice(-4));
        assertEquals((summary.results[key].result as { square: number }).square, n * n, key);
      }
      await eventually(
        "no job agent left anywhere",
        async () => {
          const left = await Promise.all(hosts.map((h) => h.client.listAgents({ type: "test.squarejob" })));
          return left.every((l) => l.agents.length === 0);
        },
        30_000,
        250,
      );
    } finally {
      await stopAll();
      await lab.close();
    }
  },
});
