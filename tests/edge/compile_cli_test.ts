/**
 * `paglets compile` goes to scripts/compile.ts before the CLI loads (scripts/paglets): its `--help`
 * and usage errors are the CLI's (exit 0; `error [bad_request]` with a hint, exit 2), and the CLI's
 * own help lists it. No test here builds anything.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { paglets } from "../helpers/cli.ts";

const LAUNCHER = new URL("../../scripts/paglets", import.meta.url).pathname;

async function launcher(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(LAUNCHER, {
    args,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("compile --help prints its usage and options, exit 0", async () => {
  const run = await launcher(["compile", "--help"]);
  assertEquals(run.code, 0, run.stderr);
  assert(run.stdout.startsWith("Usage: paglets compile [options]"), run.stdout);
  for (const word of ["dist/paglets", "--target", "--output"]) assert(run.stdout.includes(word), run.stdout);
  assertEquals(run.stderr, "");
});

Deno.test("compile with an unknown option is a usage error with a hint, exit 2", async () => {
  const run = await launcher(["compile", "--bogus"]);
  assertEquals(run.code, 2);
  assertEquals(
    run.stderr,
    "error [bad_request]: unknown option '--bogus'\n(run 'paglets compile --help' for usage)\n",
  );
  assertEquals(run.stdout, "");
});

Deno.test("the CLI's help lists compile, and `help compile` prints the same help", async () => {
  const top = await paglets(["--help"]);
  assert(/\n {2}compile \[options\] +Build the single paglets binary/.test(top.stdout), top.stdout);
  const help = await paglets(["help", "compile"]);
  assertEquals(help.code, 0, help.stderr);
  assertEquals(help.stdout, (await launcher(["compile", "--help"])).stdout);
});
