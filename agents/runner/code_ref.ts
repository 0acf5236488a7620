/**
 * Which module a Runner's service functions come from, and how an executor loads it.
 *
 * A {@linkcode CodeRef} names the module without carrying it: today a module URL every host can
 * import (a built-in module such as examples/montecarlo/, a file on a shared path, a data: URL);
 * a script run with `paglets run` names its bundle by hash, which hosts fetch from the code store.
 * The client keeps the module's namespace ({@linkcode TaskModule}) to turn a function into the
 * name it is exported under; only the name travels.
 *
 * @module
 */
import { PagletError } from "../errors.ts";

/** How an executor finds a module: its URL. */
export interface CodeRef {
  /** A URL the executor's host can import (file:, data:, https:). */
  moduleUrl: string;
}

/** A module whose exported functions a Runner may call: where it is, and its namespace. */
export interface TaskModule {
  ref: CodeRef;
  /** The module's namespace (`import * as self from "./this.ts"`): export name → value. */
  exports: Readonly<Record<string, unknown>>;
}

/**
 * A task module from a URL and the namespace imported from it.
 *
 * @example
 * ```ts
 * import * as estimate from "./estimate.ts";
 * const module = taskModule(new URL("./estimate.ts", import.meta.url), estimate);
 * ```
 */
export function taskModule(url: string | URL, exports: Readonly<Record<string, unknown>>): TaskModule {
  return { ref: { moduleUrl: String(url) }, exports };
}

/** The name under which `fn` is exported by `module`; a clear `not_exported` error when none. */
export function exportNameOf(module: TaskModule, fn: unknown): string {
  if (typeof fn !== "function") {
    throw new PagletError(
      "not_exported",
      `Cannot make a Runner service of ${typeof fn}: give an exported function of ${module.ref.moduleUrl}`,
    );
  }
  // The function's own name first (the usual `export function f`), then any alias.
  if (fn.name && module.exports[fn.name] === fn) return fn.name;
  for (const [name, value] of Object.entries(module.exports)) if (value === fn) return name;
  throw new PagletError(
    "not_exported",
    `Cannot make a Runner service of '${fn.name || "an anonymous function"}' as it is not exported by ` +
      `${module.ref.moduleUrl}: executors on other hosts load the module and call its exports by name. ` +
      `Add 'export' to its declaration.`,
  );
}
