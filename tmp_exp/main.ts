const t = performance.now();
const w = new Worker(new URL("./imp.ts", import.meta.url).href, { type: "module" });
console.log("new Worker", (performance.now() - t).toFixed(1));
setTimeout(() => Deno.exit(0), 1500);
