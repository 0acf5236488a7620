/**
 * Writes cli/top_help.ts: the text of `paglets --help`, so that main.ts prints it without loading
 * every command group (a quarter of a second). tests/edge/cli_help_test.ts fails when a command's
 * description changes and this has not been run again:
 *
 *   deno run -A scripts/top_help.ts
 */
import { buildProgram } from "../cli/program.ts";

const text = (await buildProgram(["--help"])).helpInformation();
const file = new URL("../cli/top_help.ts", import.meta.url);
await Deno.writeTextFile(
  file,
  `/** The text of \`paglets --help\`, written by scripts/top_help.ts (do not edit by hand). */\n` +
    `export const TOP_HELP = ${JSON.stringify(text)};\n`,
);
console.log(`wrote ${file.pathname} (${text.length} characters)`);
