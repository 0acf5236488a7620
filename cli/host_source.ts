/**
 * The host's code from the source modules, as one module: cli/host_code.ts imports it in one piece
 * when the bundle (dist/host-bundle/, whose entry exports the same two names) does not match the
 * source. One import, not two in flight at once: the graph has a module with a top-level await
 * (agents/cbor_x.ts), the case that once handed `paglets run` a module whose body had not run yet
 * (cli/run_modules.ts).
 *
 * @module
 */
export { Host } from "../host/host.ts";
export { extensionsForHost } from "./extensions.ts";
