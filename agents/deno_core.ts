/**
 * Functions of Deno's core that Node's polyfills wrap (the timer list, the immediate queue), read
 * from `Deno[Deno.internal].core`. Scheduling on them directly spares a thread the Node layer (see
 * agents/timers.ts and host/immediate.ts). The Deno this project pins has them (tested); on another
 * one a name may be missing, and the caller falls back to the globals.
 *
 * @module
 */

/** Deno's core as `T`, when it has a function for each of `names`; else undefined. */
export function coreFunctions<T>(...names: (keyof T & string)[]): T | undefined {
  const internal = (Deno as unknown as Record<symbol, { core?: Record<string, unknown> } | undefined>)[
    (Deno as unknown as { internal: symbol }).internal
  ];
  const core = internal?.core;
  return core && names.every((name) => typeof core[name] === "function") ? core as T : undefined;
}
