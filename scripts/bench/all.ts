/**
 * Runs every benchmark of scripts/bench/ one after another, each in its own process so none
 * disturbs the next, and prints their output (`deno task bench`).
 */
const BENCHMARKS = [
  "http_message.ts",
  "local_send.ts",
  "create_dispose.ts",
  "mobility.ts",
  "transfer.ts",
  "slot_handoff.ts",
  "queued_jobs.ts",
  "startup.ts",
  "throughput.ts",
  "code_first_use.ts",
  "run_script.ts",
];

let failed = 0;
for (const name of BENCHMARKS) {
  const path = new URL(`./${name}`, import.meta.url).pathname;
  console.log(`\n## ${name}  (deno run -A scripts/bench/${name})`);
  const { success } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", path],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!success) failed++;
}
if (failed > 0) Deno.exit(1);
