/**
 * What `paglets run` loads once it runs (cli/run_command.ts), as one static graph imported in one
 * piece. The graph has a module with a top-level await (agents/cbor_x.ts), and two `import()`s of
 * the same module in flight at once could hand the second one a module whose body had not run yet
 * ("Cannot access 'esbuildReady' before initialization", seen once in CI): one import, awaited by
 * every user, cannot. An embedded host's code, which shares modules with it, loads only after it
 * (cli/entry.ts `loadAfter`).
 *
 * @module
 */
export { installConnector } from "../agents/connect.ts";
export { bundleExportNames, bundleScript, SCRIPT_MAIN_GLOBAL } from "../host/code/bundler.ts";
export { BundleCache } from "../host/code/bundle_cache.ts";
export { dataUrlOf } from "../host/code/data_url.ts";
export { ScriptMesh } from "./script_mesh.ts";
export { registerScriptBundle } from "../agents/runner/code_ref.ts";
export { setDefaultTaskModule } from "../agents/runner/runner.ts";
export { interrupt } from "../agents/interruption.ts";
