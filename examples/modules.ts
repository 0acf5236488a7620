/**
 * The examples' paglet type modules, as URLs. A host started by the CLI loads them into its workers
 * the way it loads a user's `--module` (through {@link examplesExtension}); the kernel itself knows
 * no example. Imports nothing, so that the CLI can name them before it loads anything else.
 *
 * @module
 */
export const EXAMPLE_MODULES: readonly string[] = [
  new URL("./demo/mod.ts", import.meta.url).href,
  new URL("./pi/paglets.ts", import.meta.url).href,
  new URL("./analysis/paglets.ts", import.meta.url).href,
];
