/**
 * compute-slots across real host processes: placement by tags, work stealing towards a host that
 * joins with free cores, and jobs that outlive a graceful restart.
 */
import type { HostClient } from "../../host/client.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import {
  freePort,
  type HostProcess,
  startHost,
  type StartOptions,
  stopAll,
} from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { jsonOf, paglets } from "../helpers/cli.ts";
import { COMPUTE_JOBS, CPUS, FAST, knowsScheduler, slotStatus, type SpinState } from "./helpers.ts";

function start(name: string, options: Partial<StartOptions> = {}): Promise<HostProcess> {
  return startHost({
    ...options,
    name,
    env: { ...FAST, ...options.env },
    args: ["--workers", "2", "--gossip-interval-ms", "200", ...(options.args ?? [])],
  });
}

/** A job's state wherever it is now (following where it moved), with the host it is on. */
async function locate(hosts: HostProcess[], id: string): Promise<{ host: HostProcess; state: SpinState }> {
  for (const host of hosts) {
    const record = await host.client.getAgent(id).catch(() => null);
    if (record && "state" in record) return { host, state: record.state as SpinState };
  }
  throw new Error(`job ${id} is on none of ${hosts.map((h) => h.name).join(", ")}`);
}

async function spinJobs(client: HostClient, n: number, state: Record<string, unknown>): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await client.createAgent({ type: "demo.spinjob", state })).id);
  return ids;
}

async function finished(hosts: HostProcess[], ids: string[], timeoutMs: number) {
  return await eventually(
    `${ids.length} jobs to complete`,
    async () => {
      const found = await Promise.all(ids.map((id) => locate(hosts, id).catch(() => null)));
      return found.every((f) =>
        f?.state.computeStatus === "COMPLETED" || f?.state.computeStatus === "FAILED_FINAL"
      ) &&
        found as { host: HostProcess; state: SpinState }[];
    },
    timeoutMs,
    100,
  );
}

async function meshed(a: HostProcess, b: HostProcess): Promise<void> {
  await eventually(`${a.name} to see ${b.name} online`, async () => {
    const { hosts } = await a.client.request<{ hosts: { name: string; online: boolean }[] }>(
      "GET",
      "/v1/mesh/hosts",
    );
    return hosts.some((h) => h.name === b.name && h.online);
  }, 20_000);
}

Deno.test("a job whose only host is down for a moment waits for it and runs there; with placementWaitSeconds 0 it fails at once", async () => {
  try {
    const home = await start("home");
    const port = freePort();
    const args = ["--peer", home.url, "--tag", "worker-only"];
    const worker = await start("worker", { port, args });
    await meshed(home, worker);
    await eventually(
      "home knows the worker's scheduler",
      () => knowsScheduler(home.client, "worker"),
      20_000,
    );
    await worker.kill();
    const needs = { cpuCores: 1, ms: 100, requiredHostTags: ["worker-only"] };
    const [impatient] = await spinJobs(home.client, 1, { ...needs, placementWaitSeconds: 0 });
    const [patient] = await spinJobs(home.client, 1, needs);
    const [bounded] = await spinJobs(home.client, 1, { ...needs, placementWaitSeconds: 2 });
    const [failed] = await finished([home], [impatient], 30_000);
    assertEquals(failed.state.computeStatus, "FAILED_FINAL");
    assert(/^no suitable compute host \(/.test(String(failed.state.computeError)), failed.state.computeError);
    // A wait has its bound, however often it looks again.
    const [gaveUp] = await finished([home], [bounded], 30_000);
    assertEquals(gaveUp.state.computeStatus, "FAILED_FINAL");
    assert(
      /^no suitable compute host within 2 s \(/.test(String(gaveUp.state.computeError)),
      gaveUp.state.computeError,
    );
    await eventually("the other job sleeps until it looks again", async () => {
      const record = await home.client.getAgent(patient);
      return record.status === "inactive" && (record.state as SpinState).computeStatus === "PLACING";
    }, 30_000);
    const back = await start("worker", { port, dataDir: worker.dataDir, args });
    const [done] = await finished([home, back], [patient], 60_000);
    assertEquals(done.state.computeStatus, "COMPLETED", done.state.computeError);
    assertEquals(done.host.name, "worker");
  } finally {
    await stopAll();
  }
});

Deno.test("a job whose dispatch can never succeed (a registered file is gone) fails at once, naming the file", async () => {
  try {
    const home = await start("home", { args: ["--module", COMPUTE_JOBS] });
    const worker = await start("worker", { args: ["--peer", home.url, "--module", COMPUTE_JOBS] });
    await meshed(home, worker);
    await eventually(
      "home knows the worker's scheduler",
      () => knowsScheduler(home.client, "worker"),
      20_000,
    );
    const { id } = await home.client.createAgent({ type: "test.lostfilejob" });
    const [failed] = await finished([home], [id], 30_000);
    assertEquals(failed.state.computeStatus, "FAILED_FINAL");
    assert(
      /dispatch failed: Registered file 'input' is missing/.test(String(failed.state.computeError)),
      failed.state.computeError,
    );
    assert(!/within/.test(String(failed.state.computeError)), "no wait for what cannot pass");
  } finally {
    await stopAll();
  }
});

Deno.test("a job that needs a tag only another host has is placed there and runs there", async () => {
  try {
    const alpha = await start("alpha");
    const beta = await start("beta", { args: ["--peer", alpha.url, "--tag", "beta-only"] });
    await meshed(alpha, beta);
    const [id] = await spinJobs(alpha.client, 1, { cpuCores: 1, ms: 200, requiredHostTags: ["beta-only"] });
    const [done] = await finished([alpha, beta], [id], 30_000);
    assertEquals(done.state.computeStatus, "COMPLETED", done.state.computeError);
    assertEquals(done.host.name, "beta");
    assertEquals(done.state.computeHostName, "beta");
    assertEquals(done.state.homeHostName, "alpha");
    assertEquals(done.state.redirectCount, 0, "placed, not redirected");
  } finally {
    await stopAll();
  }
});

Deno.test("a host that joins with free cores receives waiting jobs by work stealing", async () => {
  try {
    const alpha = await start("alpha");
    const ids = await spinJobs(alpha.client, 3 * CPUS.length, { cpuCores: 1, ms: 2500 });
    await eventually(
      "jobs waiting on alpha",
      async () => (await slotStatus(alpha.client)).host.queueLength >= 2,
    );
    const beta = await start("beta", { args: ["--peer", alpha.url] });
    const done = await finished([alpha, beta], ids, 60_000);
    for (const { state } of done) assertEquals(state.computeStatus, "COMPLETED", state.computeError);
    const stolen = done.filter((d) => d.state.computeHostName === "beta");
    assert(stolen.length >= 1, `no job ran on beta: ${done.map((d) => d.state.computeHostName)}`);
    for (const { state } of stolen) {
      assert(state.redirectCount >= 1, "a stolen job was redirected");
      assertEquals(state.homeHostName, "alpha");
    }
    const [a, b] = await Promise.all([slotStatus(alpha.client), slotStatus(beta.client)]);
    assert(a.counters.redirectedFromQueue >= 1, "alpha redirected waiting jobs");
    assert(a.counters.maxReservedCpuCores <= CPUS.length && b.counters.maxReservedCpuCores <= CPUS.length);
  } finally {
    await stopAll();
  }
});

Deno.test("a job moved by hand while it waits for a slot asks on its new host at once, not at its old schedule's next try", async () => {
  try {
    // Alpha's cores are held; the job waits there, asleep, its next try 300 s away.
    const alpha = await start("alpha");
    const holders = await spinJobs(alpha.client, CPUS.length, { cpuCores: 1, ms: 30_000 });
    await eventually(
      "every core leased",
      async () => (await slotStatus(alpha.client)).host.freeCpuCores === 0,
    );
    const [waiting] = await spinJobs(alpha.client, 1, {
      cpuCores: 1,
      ms: 100,
      driverRetrySeconds: 300,
      driverRetryMaxSeconds: 600,
    });
    await eventually("the job asleep, waiting for a slot", async () => {
      const record = await alpha.client.getAgent(waiting);
      const state = record.state as SpinState;
      return record.status === "inactive" && state.computeStatus === "WAITING_FOR_SLOT" &&
        (state.slotNextTryAt as number) > Date.now() + 60_000;
    }, 20_000);
    // Moved to a host with free cores (no mesh between them): it asks there when it arrives.
    const beta = await start("beta");
    await alpha.client.dispatch(waiting, beta.url);
    const [done] = await finished([beta], [waiting], 30_000);
    assertEquals([done.state.computeStatus, done.state.computeHostName], ["COMPLETED", "beta"]);
    for (const id of holders) await alpha.client.dispose(id);
  } finally {
    await stopAll();
  }
});

Deno.test("waiting and running jobs survive a graceful restart on another port: they ask again and run to completion", async () => {
  try {
    const dataDir = await Deno.makeTempDir({ prefix: "paglets-test-restart-" });
    let alpha = await start("alpha", { port: freePort(), dataDir });
    const ids = await spinJobs(alpha.client, 2 * CPUS.length, { cpuCores: 1, ms: 2000 });
    // The service's count and the jobs' own states: a job records its status after the service answered.
    const before = await eventually("cores busy and jobs waiting", async () => {
      const s = await slotStatus(alpha.client);
      if (s.host.freeCpuCores !== 0 || s.host.queueLength !== ids.length - CPUS.length) return null;
      const states = await Promise.all(ids.map((id) => locate([alpha], id)));
      const count = (status: string) => states.filter((l) => l.state.computeStatus === status).length;
      return count("WAITING_FOR_SLOT") === ids.length - CPUS.length && count("RUNNING") === CPUS.length &&
        states;
    });
    const wasRunning = new Set(ids.filter((_, i) => before[i].state.computeStatus === "RUNNING"));
    assertEquals(wasRunning.size, CPUS.length);
    await alpha.stop();
    alpha = await start("alpha", { port: freePort(), dataDir });
    // A job still waiting after the restart asked again; its status did not change, nor its time.
    const waitingAgain = await eventually("the waiting jobs back in the queue", async () => {
      const after = await Promise.all(ids.map((id) => locate([alpha], id)));
      const waiting = ids.flatMap((id, i) =>
        !wasRunning.has(id) && after[i].state.computeStatus === "WAITING_FOR_SLOT" ? [i] : []
      );
      if ((await slotStatus(alpha.client)).host.queueLength === 0 || waiting.length === 0) return null;
      return waiting.map((i) => ({ id: ids[i], now: after[i].state, then: before[i].state }));
    });
    for (const { id, now, then } of waitingAgain) {
      const at = (s: unknown) => (s as { computeStatusAt: number }).computeStatusAt;
      assertEquals(at(now), at(then), `the time of ${id}'s status`);
    }
    const done = await finished([alpha], ids, 60_000);
    for (const [i, { state }] of done.entries()) {
      assertEquals(state.computeStatus, "COMPLETED", state.computeError);
      assertEquals(state.computeAttempts, wasRunning.has(ids[i]) ? 2 : 1, `attempts of ${ids[i]}`);
    }
    // They asked the host they were on at its new URL: none tried the URL it had before.
    const notes = await alpha.client.request<{ events: { data: { text?: string } }[] }>(
      "GET",
      "/v1/events?kind=user-notify&limit=2000",
    );
    const failedMoves = notes.events.filter((e) => /dispatch to .* failed/.test(e.data.text ?? ""));
    assertEquals(failedMoves.map((e) => e.data.text), []);
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  } finally {
    await stopAll();
  }
});

Deno.test("a job no host can take fails with each host's reason, the refused dispatch's included", async () => {
  try {
    const groupJobs = new URL("./fixtures/group_jobs.ts", import.meta.url).href;
    const home = await start("home", { args: ["--module", groupJobs] });
    const nomod = await start("nomod", { args: ["--peer", home.url, "--no-remote-code", "--tag", "solo"] });
    // An offline host the job's wishes rule out (it lacks the tag) is no reason to wait for it.
    const gone = await start("gone", { args: ["--peer", home.url] });
    // Nor is one with fewer CPUs in all than a job asks for (a host on one CPU of this machine).
    const small = await start("small", { args: ["--peer", home.url], cpus: [CPUS[0]] });
    await meshed(home, gone);
    await meshed(home, small);
    await Promise.all([gone.kill(), small.kill()]);
    await eventually("home sees gone and small offline", async () => {
      const { hosts } = await home.client.request<{ hosts: { name: string; online: boolean }[] }>(
        "GET",
        "/v1/mesh/hosts",
      );
      return ["gone", "small"].every((name) => hosts.some((h) => h.name === name && !h.online));
    }, 20_000);
    await eventually("home sees nomod's scheduler", async () => {
      const { hosts } = await home.client.request<{ hosts: { name: string; online: boolean }[] }>(
        "GET",
        "/v1/mesh/hosts",
      );
      return hosts.some((h) => h.name === "nomod" && h.online) && await knowsScheduler(home.client, "nomod");
    }, 20_000);
    // Jobs do not compute at home by default: the only other host cannot load the type.
    const { id } = await home.client.createAgent({
      type: "test.squarejob",
      state: { n: 3, requiredHostTags: ["solo"] },
    });
    const state = await eventually("the job fails", async () => {
      const s = (await locate([home, nomod], id)).state as SpinState & { computeError: string };
      return s.computeStatus === "FAILED_FINAL" && s;
    }, 20_000);
    assert(
      /nomod|127\.0\.0\.1/.test(state.computeError) &&
        /dispatch failed: .*(squarejob|remote code|remote_code)/i.test(state.computeError),
      state.computeError,
    );
    if (CPUS.length > 1) {
      // A job of two cores: small (offline, one CPU) could never take it, gone is ruled out by name.
      const big = await home.client.createAgent({
        type: "test.squarejob",
        state: { n: 4, cpuCores: 2, excludedHostNames: ["gone"] },
      });
      const bigState = await eventually("the job too big for small fails at once", async () => {
        const s = (await locate([home, nomod], big.id)).state as SpinState & { computeError: string };
        return s.computeStatus === "FAILED_FINAL" && s;
      }, 20_000);
      assert(
        /^no suitable compute host \(.*dispatch failed: .*does not know the agent type/.test(
          bigState.computeError,
        ),
        bigState.computeError,
      );
    }

    // jobs ps: the whole error (wrapped in the table), and the job's own time, also after a restart.
    type Row = { agentId: string; computeError: string; updatedAt: number };
    const psRow = async (host: HostProcess) =>
      jsonOf<Row[]>(await paglets(["jobs", "ps", "--json", "--entry", host.url])).find((r) =>
        r.agentId === id
      )!;
    const before = await psRow(home);
    assertEquals(before.computeError, state.computeError);
    const table = await paglets(["jobs", "ps", "--entry", home.url]);
    assert(
      table.stdout.replace(/[\s│]+/g, "").includes(state.computeError.replace(/\s+/g, "")),
      table.stdout,
    );
    await home.stop();
    const again = await start("home", {
      port: Number(new URL(home.url).port),
      dataDir: home.dataDir,
      args: ["--module", groupJobs],
    });
    assertEquals(
      (await psRow(again)).updatedAt,
      before.updatedAt,
      "a restart does not change when the job last changed",
    );
  } finally {
    await stopAll();
  }
});
