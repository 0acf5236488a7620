import { ServiceClient } from "../../services/client.ts";
import {
  Landscape,
  type MeshSnapshot,
  SelectTargets,
  Snapshot,
  Sync,
} from "../../services/mesh_info/contract.ts";
import { snapshot as syntheticSnapshot } from "../../services/mesh_info/test_snapshots.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { FAST_MESH } from "../mesh/helpers.ts";
import { serviceHost } from "./helpers.ts";

const SERVICE = "mesh-info";

Deno.test("mesh-info samples this host: CPUs, load, memory, work disk, agent counts, tags", async () => {
  await using t = await serviceHost({ tags: ["linux", "test"], properties: { rack: "r1" } });
  const services = ServiceClient.connect(t.host.url);
  const { id } = await t.client.createAgent({ type: "demo.counter" });
  const s = await services.call(SERVICE, Snapshot, { force: true });
  assertEquals([s.hostName, s.hostUrl, s.cpuCount], ["test", t.host.url, navigator.hardwareConcurrency]);
  assertEquals(s.loadPerCpu, Math.round((s.load1 / s.cpuCount) * 10_000) / 10_000);
  assert(s.memoryTotalBytes > 0 && s.memoryAvailableBytes > 0);
  assert(s.workPath.startsWith(t.host.options.dataDir) && s.workTotalBytes > 0 && s.workFreeBytes > 0);
  assertEquals([s.activeAgents, s.tags, s.properties, s.errors], [1, ["linux", "test"], { rack: "r1" }, []]);
  await t.client.dispose(id);
  const later = await services.call(SERVICE, Snapshot, { force: true });
  assertEquals(later.activeAgents, 0);
  assert(later.observedAt >= s.observedAt);
});

Deno.test("select-targets over HTTP: self is a target with freeSlots; tag and self exclusions give reasons", async () => {
  await using t = await serviceHost({ tags: ["linux"] });
  const services = ServiceClient.connect(t.host.url);
  // Limits far above any real load, so only the exclusions under test can reject this host.
  const roomy = { maxLoadPerCpu: 1000 };
  const all = await services.call(SERVICE, SelectTargets, roomy);
  assertEquals(all.targets.map((x) => x.hostName), ["test"]);
  const target = all.targets[0];
  assertEquals(target.freeSlots, Math.max(0, Math.floor(target.cpuCount * 1000 - target.load1)));
  assertEquals(target.self, true);
  const gpu = await services.call(SERVICE, SelectTargets, { ...roomy, requiredTags: ["gpu"] });
  assertEquals([gpu.targets, gpu.rejected.map((r) => r.reasons)], [[], [["missing tag gpu"]]]);
  const noSelf = await services.call(SERVICE, SelectTargets, { ...roomy, includeSelf: false });
  assertEquals(noSelf.rejected[0].reasons, ["self excluded"]);
});

Deno.test("sync merges newer snapshots from peers and answers with this host's own first", async () => {
  await using t = await serviceHost();
  const services = ServiceClient.connect(t.host.url);
  const ghost: MeshSnapshot = syntheticSnapshot("ghost", { observedAt: Date.now() });
  const reply = await services.call(SERVICE, Sync, { snapshots: [ghost] });
  assertEquals(reply.snapshots[0].hostName, "test");
  assert(reply.snapshots.some((s) => s.hostName === "ghost"), "a fresh peer snapshot is kept and shared on");
  // ghost is not an online mesh member, so it is never a target, and the landscape leaves it out.
  const select = await services.call(SERVICE, SelectTargets, {});
  assertEquals(select.rejected.find((r) => r.hostName === "ghost")?.reasons, ["offline"]);
  const landscape = await services.call(SERVICE, Landscape, {});
  assertEquals(landscape.hosts.map((h) => h.hostName), ["test"]);
});

Deno.test("a 2-host mesh landscape shows both hosts with their agent counts, from either side", async () => {
  const env = { PAGLETS_MESH_INFO_SAMPLE_MS: "300", PAGLETS_MESH_INFO_GOSSIP_MS: "200" };
  try {
    const a = await startHost({ name: "mi-a", args: FAST_MESH, env });
    const b = await startHost({ name: "mi-b", args: [...FAST_MESH, "--peer", a.url], env });
    const { id } = await b.client.createAgent({ type: "demo.counter" });
    const landscapeOf = (url: string) =>
      ServiceClient.connect(url).call(SERVICE, Landscape, { refresh: false });
    // Gossip alone (refresh off) carries b's snapshot, with its new agent, to a.
    const seen = await eventually("a's landscape shows both hosts and b's agent", async () => {
      const l = await landscapeOf(a.url);
      const names = l.hosts.map((h) => h.hostName);
      const bHost = l.hosts.find((h) => h.hostName === "mi-b");
      return names.join() === "mi-a,mi-b" && bHost?.activeAgents === 1 ? l : null;
    }, 20_000);
    assertEquals(seen!.hosts.find((h) => h.hostName === "mi-b")?.hostUrl, b.url);
    await eventually(
      "b's landscape shows both hosts",
      async () => (await landscapeOf(b.url)).hosts.length === 2,
      20_000,
    );
    const targets = await ServiceClient.connect(a.url).call(SERVICE, SelectTargets, { maxLoadPerCpu: 100 });
    assertEquals(targets.targets.map((x) => x.hostName).sort(), ["mi-a", "mi-b"]);
    await b.client.dispose(id);
  } finally {
    await stopAll();
  }
});
