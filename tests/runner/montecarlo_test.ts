/** `paglets examples montecarlo` as a user runs it: against a running host, and with no mesh at all. */
import { estimateBatch, piFromCounts } from "../../examples/montecarlo/estimate.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { HAS_SCRIPT, jsonOf, onTerminal, paglets } from "../helpers/cli.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";

interface Report {
  batches: number;
  samplesPerBatch: number;
  totalSamples: number;
  seed: number;
  inside: number;
  estimate: number;
  executors: number;
  hosts: string[];
}

const ARGS = ["examples", "montecarlo", "--batches", "6", "--samples", "200000", "--seed", "7"];

Deno.test("a seeded run on a host gives the same counts as the estimator run here, every time", async () => {
  try {
    const host = await startHost({ name: "mc", env: { PAGLETS_COMPUTE_BURST_LOAD_PER_CPU: "1000" } });
    const first = jsonOf<Report>(await paglets([...ARGS, "--json", "--entry", host.url]));
    const second = jsonOf<Report>(await paglets([...ARGS, "--json", "--entry", host.url]));
    const local = piFromCounts(Array.from({ length: 6 }, (_, i) => estimateBatch(200_000, 7, i)), 200_000);
    assertEquals([first.batches, first.samplesPerBatch, first.totalSamples], [6, 200_000, 1_200_000]);
    assertEquals(first.inside, local.inside);
    assertEquals(second.inside, local.inside);
    assertEquals(first.estimate, local.estimate);
    assert(Math.abs(first.estimate - Math.PI) < 0.01, String(first.estimate));
    assertEquals(first.hosts, ["mc"]);
  } finally {
    await stopAll();
  }
});

Deno.test("with no mesh the report comes from an embedded host, in the seed's layout", async () => {
  const run = await paglets(ARGS);
  assertEquals(run.code, 0, run.stderr);
  assert(run.stderr.includes("starting an embedded host"), run.stderr);
  for (
    const line of [
      "Monte Carlo Estimation of PI",
      "Batches: 6",
      "Samples per batch: 200,000",
      "Total samples: 1,200,000",
      "Estimated PI: 3.1",
      "Actual PI: 3.1415926536",
      "Error: 0.",
    ]
  ) assert(run.stdout.includes(line), `missing '${line}' in:\n${run.stdout}`);
  assert(!run.stderr.includes("batches ["), `a progress bar on a pipe:\n${run.stderr}`);
});

Deno.test({
  name: "on a terminal a bar shows the batches done while it runs",
  ignore: !HAS_SCRIPT,
  async fn() {
    const run = await onTerminal(ARGS);
    assertEquals(run.code, 0, run.screen);
    assert(run.screen.includes(`batches [${"#".repeat(30)}] 6/6`), run.screen);
    assert(run.screen.includes("Estimated PI: 3.1"), run.screen);
  },
});

Deno.test("bad options are refused with a code naming the option", async () => {
  const run = await paglets(["examples", "montecarlo", "--samples", "-5"]);
  assert(run.code !== 0, run.stderr);
  assert(run.stderr.includes("invalid_request") && run.stderr.includes("--samples"), run.stderr);
});
