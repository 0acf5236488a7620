import assert from "node:assert/strict";
import { procCpuTicks } from "../../host/proc_cpu.ts";
import { type CpuReading, otherCoresBetween, OtherCpuMeter, readCpu } from "./other_cpu.ts";

Deno.test("other processes' busy cores: the machine's busy time minus this process's, per window", () => {
  const from: CpuReading = { busy: 1000, total: 4000, self: 100, cpus: 2 };
  // 200 ticks per CPU elapsed; the machine was busy 300 ticks, 100 of them this process's.
  assert.equal(otherCoresBetween(from, { busy: 1300, total: 4400, self: 200, cpus: 2 }), 1);
  // This process alone: nobody else.
  assert.equal(otherCoresBetween(from, { busy: 1150, total: 4400, self: 250, cpus: 2 }), 0);
  // Too short a window to say anything (under 3 ticks per CPU).
  assert.equal(otherCoresBetween(from, { busy: 1004, total: 4005, self: 101, cpus: 2 }), undefined);
});

Deno.test({
  name: "the meter sees a spinning child process as another process's busy core",
  ignore: readCpu() === null,
  fn: async () => {
    // Shell built-ins only (its CPU time is its own), bounded by its count; killed below.
    const spin = new Deno.Command("sh", {
      args: ["-c", "i=0; while [ $i -lt 50000000 ]; do i=$((i + 1)); done"],
    })
      .spawn();
    const childTicks = () => procCpuTicks(`/proc/${spin.pid}/stat`) ?? 0;
    // Waits (bounded: 3 s) until the child has used `ticks` more of CPU.
    const spinFor = async (ticks: number) => {
      const until = childTicks() + ticks, deadline = Date.now() + 3000;
      while (childTicks() < until && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    // The meter's window lies inside the spin: it opens once the child spins (its start, and
    // whatever this process did before, stay outside) and closes after 0.3 s of its CPU.
    const meter = new OtherCpuMeter();
    await spinFor(10);
    meter.sample();
    await spinFor(30);
    const busy = meter.sample();
    spin.kill();
    await spin.status;
    assert.ok(
      busy !== undefined && busy >= 0.5,
      `a spinning child counts as ≥ 0.5 busy cores (measured ${busy})`,
    );
  },
});
