/**
 * The Runner across real host processes: exported functions run on both hosts of a mesh, futures
 * as arguments, completion order, a throwing task, a timeout, cancel, a host killed mid-run, and
 * leases that never exceed the cores while two Runners and compute jobs share a host.
 */
import { progress, Runner, type RunnerFuture, taskModule } from "../../agents/mod.ts";
import type { StatusReply } from "../../services/compute_slots/contract.ts";
import { assert, assertEquals, assertRejectsCode } from "../helpers/assert.ts";
import { type HostProcess, startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { pagletsCommand } from "../helpers/cli.ts";
import { slots } from "../compute/helpers.ts";
import * as tasks from "./fixtures/tasks.ts";

const MODULE = taskModule(new URL("./fixtures/tasks.ts", import.meta.url), tasks);

// Grants are paced by the load average; this machine's load says nothing about the tests' hosts.
const ENV = { PAGLETS_COMPUTE_BURST_LOAD_PER_CPU: "1000", PAGLETS_COMPUTE_GOSSIP_MS: "300" };

function start(name: string, args: string[] = []): Promise<HostProcess> {
  return startHost({ name, env: ENV, args: ["--workers", "2", "--gossip-interval-ms", "200", ...args] });
}

async function twoHosts(): Promise<[HostProcess, HostProcess]> {
  const a = await start("alpha");
  const b = await start("beta", ["--peer", a.url]);
  await eventually("beta online at alpha", async () => {
    const { hosts } = await a.client.request<{ hosts: { name: string; online: boolean }[] }>(
      "GET",
      "/v1/mesh/hosts",
    );
    return hosts.some((h) => h.name === "beta" && h.online);
  }, 20_000);
  return [a, b];
}

/** Lines of `paglets follow --since all --json` titled `title`, read until each of `wanted` was seen. */
async function followed(entry: string, title: string, wanted: string[]): Promise<string[]> {
  const controller = new AbortController();
  const child = pagletsCommand(
    ["follow", "--entry", entry, "--since", "all", "--json"],
    {},
    controller.signal,
  )
    .spawn();
  const texts: string[] = [];
  let buffered = "";
  try {
    const deadline = AbortSignal.timeout(30_000);
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream(), { signal: deadline })) {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines.filter(Boolean)) {
        const n = JSON.parse(line) as { title?: string; text?: string };
        if (n.title === title) texts.push(n.text ?? "");
      }
      if (wanted.every((w) => texts.some((t) => t.includes(w)))) return texts;
    }
    throw new Error(
      `paglets follow did not show ${JSON.stringify(wanted)} under '${title}': ${JSON.stringify(texts)}`,
    );
  } finally {
    controller.abort();
    await child.status;
    await child.stderr.cancel().catch(() => {});
  }
}

async function allLeased(rr: Runner, count: number): Promise<void> {
  await eventually(
    `${count} executors with a core`,
    () => rr.executors.filter((e) => e.leased).length >= count,
  );
}

Deno.test("a Runner on a 2-host mesh: both hosts, futures as arguments, select, errors, timeout, cancel", async (t) => {
  try {
    const [a, b] = await twoHosts();
    await using rr = await Runner.open("suite", { entry: a.url, module: MODULE, executors: 4 });
    await allLeased(rr, 4);
    assertEquals(new Set(rr.executors.map((e) => e.host)), new Set(["alpha", "beta"]));

    await t.step("an exported function runs on both hosts", async () => {
      const where = rr.service(tasks.whereAmI);
      const spin = rr.service(tasks.spin);
      // Each executor's first batches hold one task: eight busy tasks occupy all four executors,
      // and each `where` runs on the executor that computed its argument.
      const places = await rr.get(Array.from({ length: 8 }, (_, i) => where(spin(50, i))));
      assertEquals(places.map((p) => p.tag), [0, 1, 2, 3, 4, 5, 6, 7]);
      assertEquals(
        new Set(places.map((p) => p.pid)),
        new Set([a.process.pid, b.process.pid]),
      );
    });

    await t.step("futures as arguments of later calls", async () => {
      const add = rr.service(tasks.addOne);
      const sum = rr.service(tasks.sum);
      let chain: RunnerFuture<number> = add(0);
      for (let i = 0; i < 20; i++) chain = add(chain);
      const both = sum(add(1), add(10));
      const nested = sum(await add(100), chain);
      assertEquals(await chain, 21);
      assertEquals(await both, 13);
      assertEquals(await nested, 122);
    });

    await t.step("select yields in completion order", async () => {
      // Three side by side: on a busy machine a host grants its cores one at a time, and tasks
      // given to the one executor that has a core would run one after the other on it.
      await eventually(
        "three executors hold a core",
        () => Promise.resolve(rr.executors.filter((e) => e.leased).length >= 3),
        60_000,
        50,
      );
      const sleep = rr.service(tasks.sleepThen);
      const futures = [sleep(900, 0), sleep(450, 1), sleep(10, 2)];
      const order: number[] = [];
      for await (const done of rr.select(futures)) {
        assert(done.ok);
        order.push(done.index);
        assertEquals(done.value, done.index);
      }
      assertEquals(order, [2, 1, 0]);
    });

    await t.step("a throwing task rejects with the remote error and stack", async () => {
      const error = await assertRejectsCode(
        () => rr.get(rr.service(tasks.explode)("boom")),
        "task_failed",
      ) as unknown as
        & Error
        & { remoteName: string; remoteStack: string };
      assertEquals(error.remoteName, "RangeError");
      assert(error.message.includes("exploded: boom"), error.message);
      assert(/^Task \d+ \('explode'\) failed on /.test(error.message), error.message);
      assert(
        error.remoteStack.includes("explode") && error.remoteStack.includes("tasks.ts"),
        error.remoteStack,
      );
      // Not retried: an application error is final, and the executors go on.
      assertEquals(await rr.service(tasks.addOne)(1), 2);
    });

    await t.step("a value or an argument that cannot travel fails its own task only", async () => {
      const ratio = rr.service(tasks.ratio);
      // Measured first: the calls below then share batches, and 1/0 = Infinity sits among them.
      await rr.get(Array.from({ length: 100 }, (_, i) => ratio(i, 1)));
      const futures = Array.from({ length: 60 }, (_, i) => ratio(i, i % 10 === 3 ? 0 : 2));
      const settled = await Promise.allSettled(futures.map((f) => f.promise));
      settled.forEach((outcome, i) => {
        if (i % 10 !== 3) return assertEquals(outcome, { status: "fulfilled", value: i / 2 });
        assert(outcome.status === "rejected");
        const error = outcome.reason as { code: string; message: string };
        assertEquals(error.code, "task_failed");
        assert(error.message.includes("'ratio' returned a value that is not plain data"), error.message);
      });
      const fn = rr.service(tasks.makeFunction);
      await assertRejectsCode(() => rr.get(fn(1)), "task_failed");
      // An argument tagged JSON would carry as null is refused before it is sent.
      const refused = await assertRejectsCode(() => rr.get(ratio(NaN, 1)), "invalid_request");
      assert(refused.message.includes("$[0] (non-finite number)"), refused.message);
      await assertRejectsCode(() => rr.get(ratio(1, (() => 1) as unknown as number)), "invalid_request");
      assertEquals(await rr.get(ratio(rr.service(tasks.addOne)(5), 2)), 3);
    });

    await t.step("progress counts futures as they settle, failures included", async () => {
      const add = rr.service(tasks.addOne);
      const explode = rr.service(tasks.explode);
      const futures = [...Array.from({ length: 9 }, (_, i) => add(i)), explode("counted")];
      const seen: number[] = [];
      const counts = await progress(futures, { onProgress: (p) => seen.push(p.done + p.failed) });
      assertEquals(counts, { done: 9, failed: 1, total: 10 });
      assertEquals(seen, Array.from({ length: 10 }, (_, i) => i + 1));
    });

    await t.step("a function that is not exported is refused, saying so", async () => {
      function local(x: number) {
        return x;
      }
      await assertRejectsCode(() => Promise.resolve().then(() => rr.service(local)), "not_exported")
        .then((e) => assert(e.message.includes("not exported") && e.message.includes("'local'"), e.message));
    });

    await t.step("a task over its timeout is ended; its executor goes on", async () => {
      const forever = rr.service(tasks.forever, { timeoutMs: 400 });
      const error = await assertRejectsCode(() => rr.get(forever()), "task_timeout");
      assert(error.message.includes("400 ms"), error.message);
      const add = rr.service(tasks.addOne);
      assertEquals(
        await rr.get(Array.from({ length: 40 }, (_, i) => add(i))),
        Array.from({ length: 40 }, (_, i) => i + 1),
      );
    });

    await t.step("cancel: future.cancel() and an AbortSignal", async () => {
      const spin = rr.service(tasks.spin);
      // Four executors, twelve 200 ms tasks: the last ones wait in the queue.
      const futures = Array.from({ length: 12 }, (_, i) => spin(200, i));
      assert(futures[11].cancel());
      await assertRejectsCode(() => rr.get(futures[11]), "task_cancelled");
      const controller = new AbortController();
      const guarded = rr.service(tasks.spin, { signal: controller.signal });
      const more = Array.from({ length: 4 }, (_, i) => guarded(200, 100 + i));
      controller.abort();
      for (const f of more) await assertRejectsCode(() => rr.get(f), "task_cancelled");
      assertEquals(await rr.get(futures.slice(0, 11)), Array.from({ length: 11 }, (_, i) => i));
      assertEquals(futures[11].cancel(), false);
    });

    await t.step(
      "cancel stops a running task: its worker is ended, the executor keeps its core",
      async () => {
        const runner = (lease: { jobId?: string }) => lease.jobId?.startsWith("runner:suite:") ?? false;
        const steps = async () => {
          const all = await Promise.all([a, b].map((h) => slots<StatusReply>(h.client, "status", {})));
          return all.flatMap((s) => s.leases ?? []).filter(runner);
        };
        const idle = () => eventually("no step runs", async () => (await steps()).every((l) => !l.running));
        const started = () => eventually("the task runs", async () => (await steps()).some((l) => l.running));
        const forever = rr.service(tasks.forever);
        const running = forever();
        await started();
        assert(running.cancel());
        await assertRejectsCode(() => rr.get(running), "task_cancelled");
        await idle();
        const controller = new AbortController();
        const guarded = rr.service(tasks.forever, { signal: controller.signal })();
        await started();
        controller.abort();
        await assertRejectsCode(() => rr.get(guarded), "task_cancelled");
        await idle();
        // A measured tiny function fills a batch with what is queued: here a runaway task between
        // two others. Cancelling it ends the batch's step; the other two run again, not failed.
        const add = rr.service(tasks.addOne);
        await rr.get(Array.from({ length: 100 }, (_, i) => add(i)));
        // Sixteen more behind them: a batch takes at least its executor's share of the queue (an
        // eighth here, 3 tasks), so add(1), the runaway task and add(2) go in one batch whatever
        // add's measured cost (up to 6 ms a task).
        const [before, stuck, after, ...rest] = [
          add(1),
          forever(),
          add(2),
          ...Array.from({ length: 16 }, (_, i) => add(10 + i)),
        ];
        await started();
        assertEquals(before.status, "pending", "add(1) runs in the runaway task's batch");
        stuck.cancel();
        assertEquals(await rr.get([before, after]), [2, 3]);
        assertEquals(await rr.get(rest), Array.from({ length: 16 }, (_, i) => 11 + i));
        // No step runs any more, every executor still holds its core and takes new work.
        await idle();
        assertEquals((await steps()).length, 4);
        assertEquals(rr.executors.filter((e) => e.leased).length, 4);
        const spin = rr.service(tasks.spin);
        const values = await rr.get(Array.from({ length: 8 }, (_, i) => spin(20, i)));
        assertEquals(values, Array.from({ length: 8 }, (_, i) => i));
      },
    );
  } finally {
    await stopAll();
  }
});

Deno.test("a host killed mid-run: its tasks complete on the other host, each result once", async () => {
  try {
    const [a, b] = await twoHosts();
    await using rr = await Runner.open("survivor", { entry: a.url, module: MODULE, executors: 4 });
    await allLeased(rr, 4);
    const where = rr.service(tasks.whereAmI);
    const spin = rr.service(tasks.spin);
    const n = 40;
    const futures = Array.from({ length: n }, (_, i) => where(spin(60, i)));
    let killed = false;
    const seen = new Map<number, number>();
    for await (const done of rr.select(futures)) {
      assert(done.ok, `task ${done.index} failed: ${done.error}`);
      const { pid, tag } = done.value!;
      seen.set(tag, (seen.get(tag) ?? 0) + 1);
      if (!killed && pid === b.process.pid) {
        killed = true;
        await b.kill();
      }
    }
    assert(killed, "beta ran a task before the end");
    assertEquals([...seen.keys()].sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i));
    assert([...seen.values()].every((count) => count === 1));
    // An executor on beta is found lost only by a batch sent to it: one that was idle at the kill
    // may still be listed, so the executors list is not checked here.
  } finally {
    await stopAll();
  }
});

Deno.test("a host killed while Runners are idle: its executors are dropped, the work goes on elsewhere", async () => {
  try {
    const [a, b] = await twoHosts();
    // `both` has an executor on each host; `betaOnly` has its one executor on beta.
    await using both = await Runner.open("both", { entry: a.url, module: MODULE, executors: 2 });
    await using betaOnly = await Runner.open("beta-only", {
      entry: a.url,
      module: MODULE,
      hosts: ["beta"],
      executors: 1,
    });
    await allLeased(both, 2);
    assertEquals(betaOnly.executors.map((e) => e.host), ["beta"]);
    await b.kill();
    await eventually("beta's executors dropped", () => both.executors.every((e) => e.host === "alpha"));
    // The Runner that lost every executor took a new one on the host that is left.
    await eventually(
      "a new executor on alpha",
      () => betaOnly.executors.some((e) => e.host === "alpha" && e.leased),
    );
    for (const rr of [both, betaOnly]) {
      const where = rr.service(tasks.whereAmI);
      const places = await rr.get(Array.from({ length: 10 }, (_, i) => where(i)));
      assertEquals(places.map((p) => p.tag), Array.from({ length: 10 }, (_, i) => i));
      assert(places.every((p) => p.pid === a.process.pid));
    }
  } finally {
    await stopAll();
  }
});

Deno.test("two Runners and compute jobs share a host's cores and never oversubscribe them", async () => {
  try {
    const host = await start("shared");
    const status = () =>
      slots<StatusReply>(host.client, "status", { includeQueue: true, includeLeases: true });
    const cores = (await status()).host.eligibleCpuIds.length;
    await using first = await Runner.open("first", { entry: host.url, module: MODULE, executors: cores });
    await allLeased(first, cores);
    // Every core is leased: the second Runner's executors and two compute jobs wait in the queue.
    const second = Runner.open("second", { entry: host.url, module: MODULE, executors: cores });
    const jobs = await Promise.all(
      [0, 1].map(() => host.client.createAgent({ type: "demo.spinjob", state: { cpuCores: 1, ms: 300 } })),
    );
    const queued = await eventually("the second Runner's executors in the queue", async () => {
      const { queue = [] } = await status();
      return queue.filter((q) => q.request.jobId.startsWith("runner:second:")).length === cores && queue;
    }, 20_000);
    assert(queued.length >= cores);
    const addOne = first.service(tasks.addOne);
    assertEquals(await first.get([addOne(1), addOne(2)]), [2, 3]);
    await first.close();
    const rr = await second;
    try {
      const spin = rr.service(tasks.spin);
      assertEquals(await rr.get(Array.from({ length: 6 }, (_, i) => spin(30, i))), [0, 1, 2, 3, 4, 5]);
    } finally {
      await rr.close();
    }
    await eventually("both compute jobs completed", async () => {
      const states = await Promise.all(jobs.map((j) => host.client.getAgent(j.id)));
      return states.every((s) => (s.state as { computeStatus: string }).computeStatus === "COMPLETED");
    }, 30_000);
    const { counters } = await status();
    assert(counters.maxReservedCpuCores <= cores, `reserved ${counters.maxReservedCpuCores} of ${cores}`);
    assertEquals(counters.maxReservedCpuCores, cores);
    // `paglets follow` shows each executor's core and its end under the Runner's name.
    const texts = await followed(host.url, "runner second", [
      "executor ready on CPU",
      "executor closed after",
    ]);
    assert(texts.length >= 2, JSON.stringify(texts));
  } finally {
    await stopAll();
  }
});
