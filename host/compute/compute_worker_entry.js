// Bootstrap of a compute worker: loads compute_worker.ts.
//
// The module URL is computed on purpose. `deno test` type-checks the static
// module graph of every worker it starts, about a second per worker, which
// made pool tests crawl; compute_worker.ts is type-checked by `deno check`
// like every other module. `deno compile` must --include compute_worker.ts.
await import(new URL("./compute_worker.ts", import.meta.url).href);
