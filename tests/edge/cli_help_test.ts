/**
 * `paglets --help` is printed from cli/top_help.ts without loading any command group; the text must
 * stay the one the full program would print (run `deno run -A scripts/top_help.ts` after changing a
 * command's name, arguments or description).
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { paglets } from "../helpers/cli.ts";
import { buildProgram } from "../../cli/program.ts";
import { TOP_HELP } from "../../cli/top_help.ts";
import { processVersion } from "../../cli/host_code.ts";

Deno.test("the quick --help is the full program's help, and --version its version", async () => {
  const full = (await buildProgram(["--help"])).helpInformation();
  assertEquals(TOP_HELP, full, "cli/top_help.ts is stale: run `deno run -A scripts/top_help.ts`");
  const help = await paglets(["--help"]);
  assertEquals([help.code, help.stdout], [0, TOP_HELP]);
  const version = await paglets(["--version"]);
  assertEquals([version.code, version.stdout.trim()], [0, processVersion()]);
  assert(/^\d+\.\d+\.\d+\+([0-9a-f]{12}|source)$/.test(version.stdout.trim()), version.stdout);
});

Deno.test("help NAME... shows the help of the command the names lead to", async () => {
  const run = await paglets(["help", "agents", "ls"]);
  assertEquals(run.code, 0, run.stderr);
  assert(run.stdout.startsWith("Usage: paglets agents ls"), run.stdout);
  const unknown = await paglets(["help", "agents", "nope"]);
  assertEquals(unknown.code, 2, unknown.stderr);
  assert(unknown.stderr.includes("unknown command 'nope'"), unknown.stderr);
});
