/** Modules whose paglet types every host knows. */
export const BUILTIN_MODULES: string[] = [
  new URL("../agents/runner/executor.ts", import.meta.url).href,
  new URL("../examples/demo/mod.ts", import.meta.url).href,
  new URL("../examples/pi/paglets.ts", import.meta.url).href,
];
