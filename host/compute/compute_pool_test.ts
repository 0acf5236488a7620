import assert from "node:assert/strict";
import { affinitySupport, eligibleCpuIds } from "./affinity.ts";
import { ComputePool, ComputeStepError, type StepAffinity } from "./compute_pool.ts";

const steps = new URL("./testdata/compute_steps.ts", import.meta.url);
const eligible = eligibleCpuIds();
const canPinTwo = affinitySupport().supported && eligible.includes(0) && eligible.includes(1);
if (!canPinTwo) {
  console.warn(
    `%cSKIPPING pinning tests: they need CPUs 0 and 1 eligible with affinity support; ` +
      `eligible here: [${eligible.join(",")}], support: ${JSON.stringify(affinitySupport())}`,
    "color: yellow",
  );
}

type WhereAmI = { tid: number | undefined; cpus: number[] | undefined };

Deno.test({
  name: "a step pinned to CPU 0 sees Cpus_allowed_list [0], and re-pinned to CPU 1 sees [1]",
  ignore: !canPinTwo,
  async fn() {
    const pool = new ComputePool({ maxIdleWorkers: 1 });
    try {
      const zero = await pool.run<WhereAmI>({ moduleUrl: steps, exportName: "whereAmI", cpuIds: [0] });
      assert.deepEqual(zero.affinity.observedCpus, [0]);
      assert.equal(zero.affinity.enforced, true);
      assert.deepEqual(zero.result.cpus, [0], "the step itself runs on CPU 0");
      assert.equal(zero.result.tid, zero.affinity.tid);
      const one = await pool.run<WhereAmI>({ moduleUrl: steps, exportName: "whereAmI", cpuIds: [1] });
      assert.deepEqual(one.affinity.observedCpus, [1]);
      assert.deepEqual(one.result.cpus, [1]);
      assert.equal(one.affinity.tid, zero.affinity.tid, "the idle worker was reused and re-pinned");
      assert.equal(pool.workerCount, 1);
    } finally {
      pool.close();
    }
  },
});

Deno.test({
  name: "concurrent steps run in separate threads, each on its own CPU",
  ignore: !canPinTwo,
  async fn() {
    const pool = new ComputePool();
    try {
      const pinned: StepAffinity[] = [];
      const [a, b] = await Promise.all([0, 1].map((cpu) =>
        pool.run<WhereAmI>({
          moduleUrl: steps,
          exportName: "whereAmI",
          args: { spinMs: 30 },
          cpuIds: [cpu],
          onPinned: (affinity) => pinned.push(affinity),
        })
      ));
      assert.notEqual(a.affinity.tid, b.affinity.tid);
      assert.deepEqual([a.result.cpus, b.result.cpus], [[0], [1]]);
      assert.equal(pinned.length, 2);
    } finally {
      pool.close();
    }
  },
});

Deno.test("a step without CPU ids runs on the whole process mask", async () => {
  const pool = new ComputePool({ maxIdleWorkers: 1 });
  try {
    if (canPinTwo) await pool.run({ moduleUrl: steps, exportName: "whereAmI", cpuIds: [1] });
    const free = await pool.run<WhereAmI>({ moduleUrl: steps, exportName: "whereAmI" });
    assert.equal(free.affinity.enforced, false);
    if (affinitySupport().supported) assert.deepEqual(free.affinity.observedCpus, eligible);
  } finally {
    pool.close();
  }
});

Deno.test("a step returns its result with structured-clone arguments", async () => {
  const pool = new ComputePool();
  try {
    const { result } = await pool.run<number>({
      moduleUrl: steps.href,
      exportName: "add",
      args: { a: 2, b: 40 },
    });
    assert.equal(result, 42);
  } finally {
    pool.close();
  }
});

Deno.test("a throwing step rejects with the remote error and its worker is reused", async () => {
  const pool = new ComputePool({ maxIdleWorkers: 1 });
  try {
    const error = await pool.run({ moduleUrl: steps, exportName: "fail", args: { message: "bad batch" } })
      .catch((e) => e);
    assert.ok(error instanceof ComputeStepError);
    assert.equal(error.code, "compute_step_failed");
    assert.equal(error.remoteName, "RangeError");
    assert.equal(error.message, "RangeError: bad batch");
    assert.equal(pool.idleCount, 1);
  } finally {
    pool.close();
  }
});

Deno.test("a missing export and an unclonable result are clear errors", async () => {
  const pool = new ComputePool();
  try {
    await assert.rejects(
      pool.run({ moduleUrl: steps, exportName: "notAFunction" }),
      /'notAFunction' is not a function exported by file:.*compute_steps\.ts/,
    );
    await assert.rejects(
      pool.run({ moduleUrl: steps, exportName: "unclonable" }),
      /DataCloneError|could not be cloned/,
    );
  } finally {
    pool.close();
  }
});

Deno.test("aborting a running step terminates its worker and the pool keeps working", async () => {
  const pool = new ComputePool();
  try {
    const controller = new AbortController();
    let started!: () => void;
    const pinned = new Promise<void>((resolve) => started = resolve);
    const running = pool.run({
      moduleUrl: steps,
      exportName: "spinForever",
      signal: controller.signal,
      onPinned: started,
    });
    await pinned;
    controller.abort(new Error("job cancelled"));
    await assert.rejects(running, /job cancelled/);
    assert.equal(pool.workerCount, 0, "the spinning worker is gone");
    const { result } = await pool.run<number>({ moduleUrl: steps, exportName: "add", args: { a: 1, b: 1 } });
    assert.equal(result, 2);
    await assert.rejects(
      pool.run({ moduleUrl: steps, exportName: "add", signal: AbortSignal.abort(new Error("too late")) }),
      /too late/,
    );
  } finally {
    pool.close();
  }
});

Deno.test("close ends running steps and refuses new ones", async () => {
  const pool = new ComputePool();
  const running = pool.run({ moduleUrl: steps, exportName: "spinForever" });
  pool.close();
  await assert.rejects(running, /compute pool was closed/);
  await assert.rejects(pool.run({ moduleUrl: steps, exportName: "add" }), /compute pool is closed/);
  assert.equal(pool.workerCount, 0);
});

Deno.test("an error a step leaves behind ends its idle worker, not the process", async () => {
  const pool = new ComputePool({ maxIdleWorkers: 1 });
  try {
    for (const reject of [false, true]) {
      const { result } = await pool.run<number>({
        moduleUrl: steps,
        exportName: "throwAfterReturning",
        args: { reject },
      });
      assert.equal(result, 1);
      // The idle worker ends on the error and leaves the pool (bounded wait for that condition).
      for (let i = 0; i < 400 && pool.workerCount > 0; i++) await new Promise((r) => setTimeout(r, 25));
      assert.equal(pool.workerCount, 0, "the worker that threw left the pool");
      const next = await pool.run<number>({ moduleUrl: steps, exportName: "add", args: { a: 2, b: 3 } });
      assert.equal(next.result, 5);
    }
  } finally {
    pool.close();
  }
});

Deno.test("an error nothing caught while a step runs fails that step, and its worker is not reused", async () => {
  const pool = new ComputePool({ maxIdleWorkers: 1 });
  try {
    await assert.rejects(
      pool.run({ moduleUrl: steps, exportName: "throwWhileRunning" }),
      /thrown while the step ran/,
    );
    assert.equal(pool.workerCount, 0);
    const next = await pool.run<number>({ moduleUrl: steps, exportName: "add", args: { a: 1, b: 2 } });
    assert.equal(next.result, 3);
  } finally {
    pool.close();
  }
});

Deno.test("a step cannot end its worker: Deno.exit() and close() fail the step", async () => {
  const pool = new ComputePool({ maxIdleWorkers: 1 });
  try {
    for (const how of ["exit", "close"]) {
      await assert.rejects(
        pool.run({ moduleUrl: steps, exportName: "exitWorker", args: { how } }),
        /would end a worker the host shares/,
      );
      const next = await pool.run<number>({ moduleUrl: steps, exportName: "add", args: { a: 1, b: 2 } });
      assert.equal(next.result, 3);
    }
  } finally {
    pool.close();
  }
});
