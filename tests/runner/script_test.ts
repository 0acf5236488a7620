/** A script run with `paglets run` makes its own exported function a Runner service on a 2-host mesh. */
import { assertEquals } from "../helpers/assert.ts";
import { paglets } from "../helpers/cli.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";

const SCRIPT = new URL("./fixtures/script_runner.ts", import.meta.url).pathname;
const ENV = { PAGLETS_COMPUTE_BURST_LOAD_PER_CPU: "1000" };

Deno.test("a script's exported function runs as tasks on both hosts of a mesh", async () => {
  try {
    const a = await startHost({ name: "alpha", env: ENV });
    const b = await startHost({ name: "beta", env: ENV, args: ["--peer", a.url] });
    await eventually("beta online at alpha", async () => {
      const { hosts } = await a.client.request<{ hosts: { name: string; online: boolean }[] }>(
        "GET",
        "/v1/mesh/hosts",
      );
      return hosts.some((h) => h.name === "beta" && h.online);
    }, 20_000);
    const run = await paglets(["run", SCRIPT, "--entry", a.url], ENV);
    assertEquals(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as { sum: number; pids: number[] };
    assertEquals(out.sum, Array.from({ length: 40 }, (_, i) => i * i).reduce((x, y) => x + y, 0));
    // Executors on both hosts ran it: neither host has the file, only the bundle the batches carry.
    assertEquals(new Set(out.pids), new Set([a.process.pid, b.process.pid]));
  } finally {
    await stopAll();
  }
});
