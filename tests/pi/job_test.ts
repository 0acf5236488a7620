import { assert, assertEquals } from "../helpers/assert.ts";
import { eventually, testHost } from "../helpers/in_process.ts";
import { referencePi } from "../../examples/pi/testing_reference.ts";
import { termsForDigits } from "../../examples/pi/chudnovsky.ts";
import { formatted, runJob } from "./helpers.ts";
import { slotStatus } from "../compute/helpers.ts";
import type { PiAssemblyReply } from "../../examples/pi/operations.ts";

Deno.test("a Pi job on one host: batch size 1, an uneven last batch, and a --start window", async (t) => {
  await using h = await testHost();
  const ref = await referencePi(3000);

  await t.step("1,000 digits in batches of one term each equal `pi 1000`", async () => {
    const run = await runJob(h.client, { digits: 1000, batchSize: 1, streamChunkSize: 50 });
    assertEquals(run.text, formatted(ref.slice(0, 1000), 0));
    assertEquals([run.summary.status, run.summary.batchSize, run.summary.terms], [
      "done",
      1,
      run.summary.batches,
    ]);
    assertEquals(run.summary.hostsUsed, ["test"]);
    assert(run.summary.digitsPerSecond > 0 && run.summary.firstDigitsMs !== null);
  });

  await t.step("an uneven last batch (73 terms in batches of 7) gives the same digits", async () => {
    const run = await runJob(h.client, { digits: 1000, batchSize: 7 });
    assertEquals(run.summary.terms % 7 !== 0, true);
    assertEquals(run.summary.batches, Math.ceil(run.summary.terms / 7));
    assertEquals(run.text, formatted(ref.slice(0, 1000), 0));
  });

  await t.step("a window from --start equals the same slice of a full run", async () => {
    const run = await runJob(h.client, { start: 1234, digits: 1500, batchSize: 30 });
    assertEquals(run.text, ref.slice(1234, 2734));
  });

  await t.step("the head start: a long window's first chunk at once, and only once", async () => {
    const head = async (start: number, digits: number, chunk: number) => {
      const state = {
        jobId: "head",
        start,
        digits,
        chunk,
        terms: termsForDigits(start, digits),
        outputPath: null,
      };
      const { id } = await h.client.createAgent({ type: "examples.pi.post_processor", state });
      try {
        // The digits come as bytes (digit_bytes.ts): over the JSON API, {"$bytes": base64}.
        const ask = async () => {
          const reply = await h.client.send(id, { kind: "pi.head", args: {} }) as PiAssemblyReply;
          assert(reply.digits instanceof Uint8Array);
          return { text: new TextDecoder().decode(reply.digits), emitted: reply.emitted };
        };
        return [await ask(), await ask()];
      } finally {
        await h.client.dispose(id);
      }
    };
    const [first, again] = await head(0, 3000, 500);
    assertEquals([first.text, first.emitted], [formatted(ref.slice(0, 500), 0), 500]);
    assertEquals([again.text, again.emitted], ["", 500]);
    // Far into the series, or a window of one chunk: the batches bring every digit.
    const far = (await head(70_000, 3000, 500))[0];
    assertEquals([far.text, far.emitted], ["", 0]);
    assertEquals((await head(0, 400, 500))[0].text, "");
  });

  await t.step(
    "a window that starts near the head start's limit gets a shorter head and the same digits",
    async () => {
      const run = await runJob(h.client, { start: 65_000, digits: 2000, streamChunkSize: 1000 });
      assertEquals(run.text, (await referencePi(67_000)).slice(65_000, 67_000));
    },
  );
});

Deno.test("two jobs at once on one host each get their own digits", async () => {
  await using h = await testHost();
  const ref = await referencePi(31_000);
  // One cut in two batches (its end's parts come ready-made), one in many (its assembly does the end);
  // the first drained as the CLI does (bytes in CBOR answers), the second as text in JSON.
  const [two, many] = await Promise.all([
    runJob(h.client, { digits: 30_000 }, 60_000, "bytes"),
    runJob(h.client, { start: 700, digits: 25_000, batchSize: 200 }),
  ]);
  assertEquals(two.text, formatted(ref.slice(0, 30_000), 0));
  assertEquals(many.text, ref.slice(700, 25_700));
  assertEquals([two.summary.status, many.summary.status], ["done", "done"]);
});

Deno.test("busy hosts: a worker that finds its host busy is requeued, and a job on an overloaded mesh still ends", async (t) => {
  await using h = await testHost();
  const ref = await referencePi(1000);

  await t.step("batches whose workers answer `skipped` run again and the digits are right", async () => {
    const run = await runJob(h.client, {
      digits: 1000,
      batchSize: 10,
      maxLoadPerCpu: 1000,
      faults: { skipBatches: [0, 3], failBatches: [], failHosts: [] },
    });
    assertEquals([run.summary.status, run.summary.skipped], ["done", 2]);
    assertEquals(run.text, formatted(ref, 0));
  });

  await t.step(
    "with every host above --max-load-per-cpu, one fallback worker at a time computes the job",
    async () => {
      // Another process keeps a core busy, so the host is above any limit above zero whatever else
      // runs on the machine (the host's own process does not count).
      const burner = new Deno.Command("sh", { args: ["-c", "while :; do :; done"], stdout: "null" }).spawn();
      try {
        await eventually("the host counts the other process's load", async () => {
          const host = (await slotStatus(h.client)).host as { otherCpuBusy?: number };
          return (host.otherCpuBusy ?? 0) > 0.3 && Deno.loadavg()[0] > 0;
        }, 20_000);
        const run = await runJob(h.client, { digits: 300, batchSize: 5, maxLoadPerCpu: 1e-9 });
        assertEquals(run.summary.status, "done");
        assertEquals(run.summary.fallbacks, run.summary.batchesDone);
        assertEquals(run.text, formatted(ref.slice(0, 300), 0));
      } finally {
        burner.kill("SIGKILL");
        await burner.status;
      }
    },
  );
});

Deno.test("failing batches: retried a bounded number of times, then the job fails and keeps its digits", async (t) => {
  await using h = await testHost();
  const ref = await referencePi(2000);

  await t.step("a batch that fails once is retried and the job ends well", async () => {
    const run = await runJob(h.client, {
      digits: 1000,
      batchSize: 10,
      maxLoadPerCpu: 1000,
      faults: { skipBatches: [], failBatches: [{ index: 2, times: 1 }], failHosts: [] },
    });
    assertEquals([run.summary.status, run.summary.retries, run.summary.failures], ["done", 1, 1]);
    assertEquals(run.text, formatted(ref.slice(0, 1000), 0));
  });

  await t.step(
    "a batch that keeps failing fails the job with a clear message; the file keeps the digits before it",
    async () => {
      const output = await Deno.makeTempFile({ prefix: "pi-partial-", suffix: ".txt" });
      try {
        const run = await runJob(h.client, {
          digits: 2000,
          batchSize: 10,
          maxLoadPerCpu: 1000,
          maxInFlight: 1,
          maxAttempts: 3,
          outputPath: output,
          faults: { skipBatches: [], failBatches: [{ index: 8, times: 99 }], failHosts: [] },
        });
        assertEquals(run.summary.status, "failed");
        assert(
          /batch 8 \(terms 80\.\.89\) failed 3 times/.test(run.summary.error ?? ""),
          run.summary.error ?? "",
        );
        assertEquals(run.summary.retries, 2);
        // Batches 0..7 (80 terms) certify about 1,100 digits; every one of them is kept, none beyond.
        const kept = await Deno.readTextFile(output);
        assert(kept.length > 1000 && kept.length < 1200, `kept ${kept.length} characters`);
        assertEquals(kept, formatted(ref, 0).slice(0, kept.length));
        assertEquals(run.text, kept);
        assertEquals(run.summary.digitsEmitted, kept.length - 1);
      } finally {
        await Deno.remove(output).catch(() => {});
      }
    },
  );
});

Deno.test("--output writes the same digits as the stream, with a final newline", async () => {
  await using h = await testHost();
  const output = await Deno.makeTempFile({ prefix: "pi-out-", suffix: ".txt" });
  try {
    const run = await runJob(h.client, { digits: 5000, outputPath: output, streamChunkSize: 100 });
    assertEquals(await Deno.readTextFile(output), run.text + "\n");
    assertEquals(run.text, formatted(await referencePi(5000), 0));
  } finally {
    await Deno.remove(output).catch(() => {});
  }
});

Deno.test("bad requests are refused at the boundary with invalid_request", async () => {
  await using h = await testHost();
  const { id } = await h.client.createAgent({ type: "examples.pi.coordinator" });
  for (
    const args of [{ digits: -5 }, { digits: 10, start: 99_999_995 }, {
      digits: 10,
      outputPath: "relative.txt",
    }]
  ) {
    const err = await h.client.send(id, { kind: "pi.start_async", args }).then(() => null, (e) => e);
    assertEquals(err?.code, "invalid_request", JSON.stringify(args));
  }
  const missingDir = await h.client.send(id, {
    kind: "pi.start_async",
    args: { digits: 10, outputPath: "/nonexistent-dir/pi.txt" },
  }).then(() => null, (e) => e);
  assert(/Cannot write the Pi digits/.test(missingDir?.message ?? ""), missingDir?.message);
  // The coordinator and its post-processor are gone once disposed.
  await h.client.dispose(id);
  await eventually("no Pi paglets left", async () => {
    const { agents } = await h.client.listAgents();
    return agents.every((a) => !String(a.type).startsWith("examples.pi."));
  });
});
