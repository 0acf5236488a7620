import assert from "node:assert/strict";
import { eventually, testHost } from "../../tests/helpers/in_process.ts";
import type { PagletError } from "../../agents/errors.ts";
import { servicesOf } from "../service_extension.ts";
import { createServiceHost } from "../service_host.ts";
import type { Host } from "../../host/host.ts";
import { computeSlotsConfig } from "./service_config.ts";
import { type CpuReading, OtherCpuMeter, readCpu } from "./other_cpu.ts";
import { SlotService } from "./slot_service.ts";

const linux = Deno.build.os === "linux";
const config = computeSlotsConfig({ sampleIntervalMs: 60_000, gossipIntervalMs: 60_000 });

/**
 * A slot service whose start sample has no figure for other processes' CPU, as at a host's start:
 * its meter's window begins just before the start, shorter than the 30 ms the meter needs. A start
 * that took longer (a busy machine) is tried again, a few times at most.
 */
async function startWithoutFigure(host: Host): Promise<{ service: SlotService; from: CpuReading }> {
  const handle = createServiceHost(host, servicesOf(host)!, "compute-slots-under-test");
  for (let attempt = 0; attempt < 5; attempt++) {
    const meter = new OtherCpuMeter();
    meter.sample(); // the next window starts now
    const from = readCpu()!;
    const service = await SlotService.start(handle, config, meter);
    if (service.scheduler.otherCpuUnknown) return { service, from };
    await service.stop();
  }
  throw new Error("every start took longer than the meter's shortest window");
}

/** Waits (at most 3 s) until the machine's clock ticks have passed the meter's shortest window. */
async function windowPassed(from: CpuReading): Promise<void> {
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    const now = readCpu()!;
    if (now.total - from.total >= 4 * now.cpus) return; // the meter needs 3 ticks per CPU
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("the CPU clock did not advance within 3 s");
}

Deno.test({
  name:
    "a status read or a slot request measures other processes' CPU while the start's sample had no figure",
  ignore: !linux,
  async fn() {
    await using t = await testHost();
    const read = await startWithoutFigure(t.host);
    try {
      await windowPassed(read.from);
      const status = read.service.status({
        includeQueue: false,
        includeLeases: false,
        includeUsage: false,
        includeHistory: false,
        includePeers: false,
        historyLimit: 0,
      });
      assert.equal(typeof status.host.otherCpuBusy, "number", "the status answers the measure");
      assert.equal(read.service.scheduler.otherCpuUnknown, false);
    } finally {
      await read.service.stop();
    }
    const asked = await startWithoutFigure(t.host);
    try {
      await windowPassed(asked.from);
      const decision = asked.service.requestSlot({ agentId: "ag_measure1", cpuCores: 1 }, { via: "kernel" });
      assert.equal(asked.service.scheduler.otherCpuUnknown, false, "the request measured first");
      assert.equal(typeof asked.service.hostStatus().otherCpuBusy, "number");
      assert.ok(["run_now", "sleep"].includes(decision.decision));
    } finally {
      await asked.service.stop();
    }
  },
});

const STEPS = new URL("../../host/compute/testdata/compute_steps.ts", import.meta.url).href;

Deno.test("a step that a newer step under its lease replaced leaves the lease to it, though both were to release it", async () => {
  await using t = await testHost();
  const handle = createServiceHost(t.host, servicesOf(t.host)!, "compute-slots-under-test");
  const service = await SlotService.start(handle, config);
  const gates = await Deno.makeTempDir({ prefix: "paglets-test-gates-" });
  try {
    const agentId = "ag_replaced1";
    const decision = service.requestSlot({ agentId, cpuCores: 1 }, { via: "kernel" });
    assert.equal(decision.decision, "run_now");
    const leaseId = decision.lease!.leaseId;
    // Each step waits in its compute worker until the test opens its gate.
    const step = (gate: string) =>
      service.runStep(agentId, {
        leaseId,
        moduleUrl: STEPS,
        exportName: "waitForFile",
        args: { path: `${gates}/${gate}` },
        releaseLease: true,
      });
    const older = step("older");
    older.catch(() => {/* asserted below */});
    await eventually("the older step pinned", () => service.steps.get(leaseId)?.tid !== undefined);
    const newer = step("newer");
    newer.catch(() => {/* asserted below */});

    await assert.rejects(older, (err: PagletError) => err.code === "state_conflict");
    assert.ok(service.scheduler.lease(leaseId), "the lease stays, with the newer step");
    assert.ok(service.steps.get(leaseId), "the newer step runs on");
    await Deno.writeTextFile(`${gates}/newer`, "");
    assert.deepEqual((await newer).result, `${gates}/newer`);
    assert.equal(service.scheduler.lease(leaseId), undefined, "the newer step's end released the lease");
  } finally {
    await service.stop();
    await Deno.remove(gates, { recursive: true });
  }
});
