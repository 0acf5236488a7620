import { assert, assertEquals } from "../helpers/assert.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { FAST_MESH, seesAllOnline } from "../mesh/helpers.ts";
import { referencePi } from "../../examples/pi/testing_reference.ts";
import { termsForDigits } from "../../examples/pi/chudnovsky.ts";
import { formatted, runJob } from "./helpers.ts";

Deno.test("a Pi job on a 2-host mesh of real processes uses both hosts and retries elsewhere", async (t) => {
  try {
    const a = await startHost({ name: "pi-a", args: FAST_MESH });
    const b = await startHost({ name: "pi-b", args: [...FAST_MESH, "--peer", a.url] });
    await eventually(
      "both hosts see each other",
      async () => await seesAllOnline(a, ["pi-a", "pi-b"]) && await seesAllOnline(b, ["pi-a", "pi-b"]),
    );
    const ref = await referencePi(20_000);
    // Limits far above any real load and two batches per host at a time, so both hosts take part.
    const roomy = { maxLoadPerCpu: 1000, maxWorkersPerHost: 2 };

    await t.step(
      "batches run on both hosts; the sums come back as CBOR and the digits are right",
      async () => {
        const run = await runJob(a.client, { digits: 20_000, batchSize: 40, ...roomy });
        assertEquals(run.summary.status, "done");
        assertEquals(run.summary.hostsUsed, ["pi-a", "pi-b"]);
        assert(run.summary.batchesPerHost["pi-b"] >= 2, JSON.stringify(run.summary.batchesPerHost));
        assertEquals(run.text, formatted(ref, 0));
      },
    );

    await t.step("batches that fail on the entry host are retried on the other one", async () => {
      const run = await runJob(a.client, {
        digits: 5000,
        batchSize: 40,
        ...roomy,
        faults: { skipBatches: [], failBatches: [], failHosts: ["pi-a"] },
      });
      assertEquals(run.summary.status, "done", run.summary.error ?? "");
      assertEquals(Object.keys(run.summary.batchesPerHost), ["pi-b"]);
      assert(run.summary.retries > 0 && run.summary.retries === run.summary.failures);
      assertEquals(run.text, formatted(ref.slice(0, 5000), 0));
    });

    await t.step("a left part of the end computed on the other host comes back as CBOR", async () => {
      // Two batches, both on pi-b: the first prepares the left part of the end there (leftBits).
      const terms = termsForDigits(0, 12_000);
      const run = await runJob(a.client, {
        digits: 12_000,
        batchSize: Math.ceil(terms / 2),
        ...roomy,
        faults: { skipBatches: [], failBatches: [], failHosts: ["pi-a"] },
      });
      assertEquals([run.summary.status, run.summary.batches], ["done", 2], run.summary.error ?? "");
      assertEquals(Object.keys(run.summary.batchesPerHost), ["pi-b"]);
      assertEquals(run.text, formatted(ref.slice(0, 12_000), 0));
    });
  } finally {
    await stopAll();
  }
});
