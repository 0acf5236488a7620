const mods = [
  "../host/worker/agent_worker.ts",
  "../agents/job_groups/mod.ts",
  "../agents/runner/executor.ts",
  "../examples/demo/mod.ts",
  "../examples/pi/paglets.ts",
  "../examples/analysis/paglets.ts",
];
const order = Deno.args[0] ? Deno.args[0].split(",").map(Number) : mods.map((_, i) => i);
const out: string[] = [];
let t = performance.now();
const t0 = t;
for (const i of order) {
  await import(new URL(mods[i], import.meta.url).href);
  const n = performance.now();
  out.push(`${mods[i].split("/").slice(-2).join("/")} ${(n - t).toFixed(1)}`);
  t = n;
}
console.log(out.join(" | "), "total", (t - t0).toFixed(1));
