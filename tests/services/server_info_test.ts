import { ServiceClient } from "../../services/client.ts";
import { Df, Load, Ps, Summary } from "../../services/server_info/contract.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { eventually } from "../helpers/in_process.ts";
import { serviceHost } from "./helpers.ts";
import { pagletsCommand } from "../helpers/cli.ts";

const SERVICE = "server-info";

Deno.test("server-info load reports this machine: CPU count, load, CPU percent, memory", async () => {
  await using t = await serviceHost();
  const services = ServiceClient.connect(t.host.url);
  const load = await services.call(SERVICE, Load, { interval: 0.2 });
  assertEquals(load.cpuCount, navigator.hardwareConcurrency);
  assertEquals(load.hostName, "test");
  assertEquals(load.loadAverage.length, 3);
  assert(load.loadAverage.every((l) => l >= 0));
  assert(load.memoryTotalBytes > 0 && load.memoryAvailableBytes > 0, "memory is known");
  assert(load.memoryAvailableBytes <= load.memoryTotalBytes);
  assert(load.memoryPercent >= 0 && load.memoryPercent <= 100);
  if (Deno.build.os === "linux") {
    assert(
      load.cpuPercent !== null && load.cpuPercent >= 0 && load.cpuPercent <= 100,
      `cpu ${load.cpuPercent}`,
    );
  }
  // interval 0 = since the previous sample: answers without waiting.
  const again = await services.call(SERVICE, Load, {});
  assert(again.observedAt >= load.observedAt);
});

Deno.test("server-info df reports the data dir and / by default, and errors per bad path", async () => {
  await using t = await serviceHost();
  const services = ServiceClient.connect(t.host.url);
  const df = await services.call(SERVICE, Df, {});
  assertEquals(df.volumes.map((v) => v.path), [t.host.options.dataDir, "/"]);
  for (const v of df.volumes) {
    assert(v.totalBytes > 0 && v.freeBytes > 0 && v.usedBytes >= 0, JSON.stringify(v));
    assert(v.freeBytes <= v.totalBytes && v.percentUsed >= 0 && v.percentUsed <= 100);
  }
  const mixed = await services.call(SERVICE, Df, { paths: ["/", "/no/such/place"] });
  assertEquals(mixed.volumes.map((v) => v.path), ["/"]);
  assertEquals(Object.keys(mixed.errors), ["/no/such/place"]);
});

Deno.test("server-info ps finds this deno process by a case-insensitive query, largest RSS first", async () => {
  await using t = await serviceHost();
  const services = ServiceClient.connect(t.host.url);
  const ps = await services.call(SERVICE, Ps, { query: "DENO", limit: 0, includeArgs: true });
  const self = ps.processes.find((p) => p.pid === Deno.pid);
  assert(self, `pid ${Deno.pid} not among ${ps.processes.map((p) => p.pid)}`);
  assert(self.rssBytes > 0 && self.cpuPercent >= 0);
  assert(self.cmdline.includes("test"), self.cmdline);
  assert(
    ps.processes.every((p, i, all) => i === 0 || all[i - 1].rssBytes >= p.rssBytes),
    "sorted by RSS, largest first",
  );
  const one = await services.call(SERVICE, Ps, { query: "deno", limit: 1 });
  assertEquals(one.processes.length, 1);
  assertEquals(one.truncated, one.matched > 1);
  const none = await services.call(SERVICE, Ps, { query: "no-process-is-called-this" });
  assertEquals([none.processes.length, none.matched], [0, 0]);
});

Deno.test("server-info summary names the platform, Deno version, CPUs, memory and boot time", async () => {
  await using t = await serviceHost();
  const summary = await ServiceClient.connect(t.host.url).call(SERVICE, Summary, {});
  assertEquals(summary.denoVersion, Deno.version.deno);
  assertEquals(summary.platform.os, Deno.build.os);
  assertEquals(summary.cpuCountLogical, navigator.hardwareConcurrency);
  assert(summary.memoryTotalBytes > 0);
  assert(summary.bootTime < Date.now() && summary.uptimeSeconds > 0);
});

Deno.test("paglets sys load --all-hosts --json asks every online mesh host", async () => {
  await using a = await serviceHost({ name: "a" });
  await using _b = await serviceHost({ name: "b", peers: [a.host.url] });
  await eventually("a sees b online", () => a.host.remote?.isOnline("b"), 10_000);
  const out = await pagletsCommand(
    ["sys", "load", "--all-hosts", "--json", "--entry", a.host.url],
    {},
    AbortSignal.timeout(60_000),
  ).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const results = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    name: string;
    ok: boolean;
    reply: { hostName: string };
  }[];
  assertEquals(results.map((r) => [r.name, r.ok, r.reply.hostName]).sort(), [["a", true, "a"], [
    "b",
    true,
    "b",
  ]]);
});
