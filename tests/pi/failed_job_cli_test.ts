/**
 * A Pi job that fails (here: its --timeout) says why and how many digits were kept, wherever they
 * went: --output, stdout, or (with --json) only counted in the summary.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { paglets } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp.ts";

const DIGITS = "1000000"; // far more than 0.05 s of work
const KEPT = / timed out after 0\.05 s \((\d+) digits? (kept|computed)([^)]*)\)\n$/;

Deno.test("a timed-out Pi job says how many digits were kept and where", async () => {
  const dir = await tempDir("pi-failed-");
  const file = `${dir}/pi.txt`;
  const [printed, written, json] = await Promise.all([
    paglets(["examples", "pi", "--digits", DIGITS, "--timeout", "0.05"]),
    paglets(["examples", "pi", "--digits", DIGITS, "--timeout", "0.05", "--output", file]),
    paglets(["examples", "pi", "--digits", DIGITS, "--timeout", "0.05", "--json"]),
  ]);
  for (const run of [printed, written, json]) {
    assertEquals(run.code, 1, run.stderr);
    assert(/error \[pi_job_failed\]: Pi job pi-\S+ timed out/.test(run.stderr), run.stderr);
  }
  // stdout: "3." and the decimals so far, then a newline: as many digits as the message says.
  const onStdout = KEPT.exec(printed.stderr);
  assert(onStdout, printed.stderr);
  assertEquals(onStdout[3], ": printed above");
  assertEquals(Number(onStdout[1]), printed.stdout.replace(/[.\n]/g, "").length);
  const inFile = KEPT.exec(written.stderr);
  assert(inFile, written.stderr);
  assertEquals(inFile[3], ` in ${file}`);
  assertEquals(Number(inFile[1]), (await Deno.readTextFile(file)).replace(/[.\n]/g, "").length);
  const counted = KEPT.exec(json.stderr);
  assert(counted, json.stderr);
  assertEquals(Number(counted[1]), JSON.parse(json.stdout).digitsEmitted);
});
