/**
 * What `scripts/compile.ts` embeds besides main.ts's static import graph: everything loaded by URL
 * at run time (workers, modules imported by URL, the bundler's wasm). Checked against the source by
 * tests/code/compile_includes_test.ts: a new `new URL("...", import.meta.url)` must be covered here.
 */
export const COMPILE_INCLUDES: readonly string[] = [
  // main.ts imports the command line, the command line its groups and an embedded host, by URL
  // (a literal import() would be prepared at every start).
  "cli/",
  "host/host.ts",
  // main.ts reads, at a command's end, whether its embedded host left threads it could not end.
  "host/stray_threads.ts",
  // The host's code as one bundle (scripts/host_bundle.ts; compile.ts builds it first), and the
  // files its manifest lists besides modules: the binary checks the bundle against its own copies.
  "dist/host-bundle/",
  "deno.json",
  "package.json",
  "package-lock.json",
  "host/worker/",
  "host/compute/compute_worker.ts",
  "host/compute/compute_worker_entry.js",
  "examples/",
  "services/",
  "agents/",
  // esbuild's WebAssembly build: `paglets run` bundles scripts in process.
  "node_modules/esbuild-wasm/esbuild.wasm",
  "node_modules/esbuild-wasm/esm/browser.js",
];
