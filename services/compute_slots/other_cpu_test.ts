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
    const meter = new OtherCpuMeter();
    meter.sample();
    const spin = new Deno.Command("sh", {
      args: ["-c", "end=$(($(date +%s) + 6)); while [ $(date +%s) -lt $end ]; do :; done"],
    })
      .spawn();
    // Sample once the child has used 0.3 s of CPU (bounded: 5 s).
    const childTicks = () => procCpuTicks(`/proc/${spin.pid}/stat`) ?? 0;
    const deadline = Date.now() + 5000;
    while (childTicks() < 30 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const busy = meter.sample();
    spin.kill();
    await spin.status;
    assert.ok(
      busy !== undefined && busy >= 0.5,
      `a spinning child counts as ≥ 0.5 busy cores (measured ${busy})`,
    );
  },
});
