/**
 * Builds the single `paglets` binary (dist/paglets) with `deno compile`: main.ts plus every
 * module loaded at run time by URL (agent and compute workers, built-in paglet types, examples),
 * and the host's bundle, built first (scripts/host_bundle.ts).
 *
 * `deno compile` downloads a base runtime (denort) for the target the first time; on a machine
 * without internet that step fails, and this script says so plainly.
 *
 * Usage: scripts/paglets compile [--target x86_64-unknown-linux-gnu] [--output dist/paglets]
 * (or `deno task compile`, or `deno run -A scripts/compile.ts` with a deno at hand)
 */
import { parseArgs } from "node:util";
import { COMPILE_INCLUDES } from "./compile_includes.ts";
import { buildHostBundle } from "./host_bundle.ts";

const root = new URL("..", import.meta.url).pathname;
const { values } = parseArgs({
  args: Deno.args,
  options: { target: { type: "string" }, output: { type: "string", default: "dist/paglets" } },
});

// The host's bundle as the source is now: the binary embeds it (a compiled binary cannot build one).
await buildHostBundle();

const args = [
  "compile",
  "--allow-all",
  "--config",
  `${root}deno.json`,
  "--output",
  `${root}${values.output}`,
];
for (const inc of COMPILE_INCLUDES) {
  try {
    await Deno.stat(`${root}${inc}`);
    args.push("--include", `${root}${inc}`);
  } catch { /* not present in this checkout */ }
}
if (values.target) args.push("--target", values.target);
args.push(`${root}main.ts`);

console.error(`deno ${args.join(" ")}`);
const { code, stderr } = await new Deno.Command(Deno.execPath(), { args, stderr: "piped", stdout: "inherit" })
  .output();
const text = new TextDecoder().decode(stderr);
Deno.stderr.writeSync(new TextEncoder().encode(text));
if (code !== 0) {
  if (/denort|download|dl\.deno\.land|error sending request|dns error/i.test(text)) {
    console.error(
      "\ncompile: every step up to the base-runtime download succeeded; this machine cannot download " +
        "the Deno base runtime (denort). Run `scripts/paglets compile` on a machine with internet access.",
    );
  }
  Deno.exit(code);
}
console.error(`built ${values.output}`);
