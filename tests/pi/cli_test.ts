/** `paglets examples pi` as a user runs it: a real process, no mesh, so it starts an embedded host. */
import { assert, assertEquals } from "../helpers/assert.ts";
import { paglets } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp.ts";

async function piOutput(n: number): Promise<string> {
  const out = await new Deno.Command("pi", { args: [String(n)], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout);
}

Deno.test("`paglets examples pi --digits 1000` prints exactly what `pi 1000` prints", async () => {
  const run = await paglets(["examples", "pi", "--digits", "1000"]);
  assertEquals(run.code, 0, run.stderr);
  assertEquals(run.stdout, await piOutput(1000));
  assert(run.stderr.includes("starting an embedded host"), run.stderr);
});

Deno.test("30,000 digits come out the same on GMP and on BigInt alone (PAGLETS_PI_GMP=0)", async () => {
  const expected = await piOutput(30_000);
  const dir = await tempDir("pi-arithmetic-");
  for (const [env, arithmetic] of [[{}, "gmp"], [{ PAGLETS_PI_GMP: "0" }, "bigint"]] as const) {
    const file = `${dir}/${arithmetic}.txt`;
    const run = await paglets(["examples", "pi", "--digits", "30000", "--json", "--output", file], env);
    assertEquals(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout);
    // Both batches of the job said what they computed on.
    assertEquals(summary.batchesByArithmetic, { [arithmetic]: summary.batches });
    assert((await Deno.readTextFile(file)) === expected, `${arithmetic}: the digits differ from pi's`);
  }
});

Deno.test("--json prints one summary object; --output writes the same digits to a file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pi-cli-" });
  try {
    const run = await paglets(["examples", "pi", "--digits", "2000", "--json", "--output", `${dir}/pi.txt`]);
    assertEquals(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout);
    assertEquals([summary.status, summary.digits, summary.digitsEmitted], ["done", 2000, 2000]);
    assertEquals(summary.hostsUsed, ["embedded"]);
    for (const key of ["terms", "batches", "retries", "wallTimeMs", "digitsPerSecond"]) {
      assertEquals(typeof summary[key], "number", key);
    }
    assertEquals(summary.outputPath, `${dir}/pi.txt`);
    assertEquals(await Deno.readTextFile(`${dir}/pi.txt`), await piOutput(2000));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad input fails at once with a code, a message naming the option, and exit status 2", async () => {
  const cases: [string[], RegExp][] = [
    [["--digits", "-5"], /--digits must be a whole number from 1/],
    [["--digits", "12.5"], /--digits must be a whole number/],
    [["--digits", "10", "--start", "99999995"], /--start 99999995 is beyond the range/],
    [["--digits", "10", "--mem", "lots"], /--mem: Size must look like/],
    [["--digits", "10", "--max-load-per-cpu", "0"], /--max-load-per-cpu must be a number > 0/],
    [["--digits", "10", "--batch-size", "x"], /--batch-size must be a whole number/],
  ];
  const runs = await Promise.all(cases.map(([args]) => paglets(["examples", "pi", ...args])));
  runs.forEach((run, i) => {
    assertEquals(run.code, 2, `${cases[i][0].join(" ")}: ${run.stderr}`);
    assert(run.stderr.includes("error [invalid_request]"), run.stderr);
    assert(cases[i][1].test(run.stderr), run.stderr);
    assertEquals(run.stdout, "");
  });
});
