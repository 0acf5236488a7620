/**
 * A script run with `paglets run` makes its own exported function a Runner service on a 2-host
 * mesh with an API key: the host that never saw the script fetches its bundle by hash from the
 * entry host (authenticated), and keeps it: restarted, it runs the function again from its own
 * code store while the entry host is gone.
 */
import { Runner, taskModule } from "../../agents/mod.ts";
import { assertEquals } from "../helpers/assert.ts";
import { paglets } from "../helpers/cli.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import * as script from "./fixtures/script_runner.ts";

const SCRIPT = new URL("./fixtures/script_runner.ts", import.meta.url).pathname;
const ENV = { PAGLETS_COMPUTE_BURST_LOAD_PER_CPU: "1000" };
const KEY = "runner-script-key";

Deno.test("a script's exported function runs on a host that never saw it, which keeps its code", async () => {
  try {
    const a = await startHost({ name: "alpha", env: ENV, apiKey: KEY });
    const b = await startHost({ name: "beta", env: ENV, apiKey: KEY, args: ["--peer", a.url] });
    await eventually("beta online at alpha", async () => {
      const { hosts } = await a.client.request<{ hosts: { name: string; online: boolean }[] }>(
        "GET",
        "/v1/mesh/hosts",
      );
      return hosts.some((h) => h.name === "beta" && h.online);
    }, 20_000);
    const run = await paglets(["run", SCRIPT, "--entry", a.url], { ...ENV, PAGLETS_API_KEY: KEY });
    assertEquals(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as { sum: number; pids: number[] };
    assertEquals(out.sum, Array.from({ length: 40 }, (_, i) => i * i).reduce((x, y) => x + y, 0));
    // Executors on both hosts ran it: beta has no file, only the bundle it fetched by hash.
    assertEquals(new Set(out.pids), new Set([a.process.pid, b.process.pid]));
    const { modules } = await a.client.request<{ modules: string[] }>("GET", "/v1/code");
    assertEquals((await b.client.request<{ modules: string[] }>("GET", "/v1/code")).modules, modules);

    // Beta restarts alone: the host the reference names is gone, the code is in beta's store.
    await a.kill();
    await b.stop();
    const again = await startHost({ name: "beta", env: ENV, apiKey: KEY, dataDir: b.dataDir });
    const module = taskModule({ hash: modules[0], from: a.url }, script);
    await using rr = await Runner.open("again", { entry: again.url, apiKey: KEY, module, executors: 1 });
    const { value, pid } = await rr.service(script.square)(12);
    assertEquals([value, pid], [144, again.process.pid]);
  } finally {
    await stopAll();
  }
});

Deno.test("a host that refuses travelling code runs none of a script's tasks, and its executors are dropped", async () => {
  try {
    const a = await startHost({ name: "alpha", env: ENV });
    const c = await startHost({ name: "gamma", env: ENV, args: ["--peer", a.url, "--no-remote-code"] });
    await eventually("gamma online at alpha", async () => {
      const { hosts } = await a.client.request<{ hosts: { name: string; online: boolean }[] }>(
        "GET",
        "/v1/mesh/hosts",
      );
      return hosts.some((h) => h.name === "gamma" && h.online);
    }, 20_000);
    // Four executors, two on each host: gamma's are refused the module and their tasks run on alpha.
    const run = await paglets(["run", SCRIPT, "--entry", a.url], ENV);
    assertEquals(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as { sum: number; pids: number[] };
    assertEquals(out.sum, Array.from({ length: 40 }, (_, i) => i * i).reduce((x, y) => x + y, 0));
    assertEquals(out.pids, [a.process.pid]);
    assertEquals((await c.client.request<{ modules: string[] }>("GET", "/v1/code")).modules, []);
    await eventually("no executor left on gamma", async () => {
      return (await c.client.listAgents({ type: "paglets.runner.executor" })).agents.length === 0;
    });
  } finally {
    await stopAll();
  }
});
