/**
 * Which module a Runner's service functions come from, and how an executor loads it.
 *
 * A {@linkcode CodeRef} names the module without carrying it: travelling code (a script run with
 * `paglets run`) by its content hash and a host that has it, which executors' hosts fetch once
 * (`GET /v1/code/:hash`), check and keep in their code store; or a module URL every host can
 * import (a built-in module such as examples/montecarlo/, a file on a shared path). The client
 * keeps the module's namespace ({@linkcode TaskModule}) to turn a function into the name it is
 * exported under; only the name travels.
 *
 * @module
 */
import { PagletError } from "../errors.ts";

/** A module every executor's host can import by URL (file:, https:). */
export interface UrlCodeRef {
  moduleUrl: string;
}

/** Travelling code: the SHA-256 of its bytes (hex) and the URL of a host of the mesh that has it. */
export interface HashCodeRef {
  hash: string;
  from: string;
}

/** How an executor finds a module. */
export type CodeRef = UrlCodeRef | HashCodeRef;

/** A module whose exported functions a Runner may call: where it is, and what it exports. */
export interface TaskModule {
  ref: CodeRef;
  /** The module's namespace (`import * as self from "./this.ts"`): export name → value. */
  exports?: Readonly<Record<string, unknown>>;
  /** Only the export names, when the namespace is not at hand: a function is found by its name. */
  exportNames?: readonly string[];
}

/** Bundles of scripts run in this process (`paglets run`): their data: URL → their hash reference. */
const bundles = new Map<string, HashCodeRef>();

/**
 * Makes `taskModule(import.meta.url, self)` inside a script run by `paglets run` name the script's
 * bundle by hash instead of by its data: URL. Called by `paglets run` once it has uploaded it.
 */
export function registerScriptBundle(url: string, ref: HashCodeRef): void {
  bundles.set(url, ref);
}

const HASH = /^[0-9a-f]{64}$/;

function checkedRef(ref: string | URL | CodeRef): CodeRef {
  if (typeof ref === "string" || ref instanceof URL) {
    const url = String(ref);
    return bundles.get(url) ?? { moduleUrl: url };
  }
  if ("hash" in ref) {
    if (!HASH.test(ref.hash) || typeof ref.from !== "string" || ref.from === "") {
      throw new PagletError(
        "invalid_request",
        `A code reference by hash needs 'hash' (64 lowercase hex digits) and 'from' (a host URL): got ${
          JSON.stringify(ref)
        }`,
      );
    }
    return { hash: ref.hash, from: ref.from };
  }
  return { moduleUrl: String(ref.moduleUrl) };
}

/**
 * A task module from where it is (a URL, or a {@linkcode CodeRef}) and its namespace (or just
 * its export names). Inside a script run with `paglets run`, `taskModule(import.meta.url, self)`
 * names the script's bundle by hash.
 *
 * @example
 * ```ts
 * import * as estimate from "./estimate.ts";
 * const module = taskModule(new URL("./estimate.ts", import.meta.url), estimate);
 * ```
 */
export function taskModule(
  where: string | URL | CodeRef,
  exports: Readonly<Record<string, unknown>> | readonly string[],
): TaskModule {
  const ref = checkedRef(where);
  return Array.isArray(exports)
    ? { ref, exportNames: [...exports] }
    : { ref, exports: exports as Record<string, unknown> };
}

/** A short name of the module for messages (a data: URL or a hash is long). */
export function describeCode(ref: CodeRef): string {
  if ("hash" in ref) return `script module ${ref.hash.slice(0, 12)}… (from ${ref.from})`;
  return ref.moduleUrl.startsWith("data:") ? "a data: URL module" : ref.moduleUrl;
}

/** The name under which `fn` is exported by `module`; a clear `not_exported` error when none. */
export function exportNameOf(module: TaskModule, fn: unknown): string {
  const where = describeCode(module.ref);
  if (typeof fn !== "function") {
    throw new PagletError(
      "not_exported",
      `Cannot make a Runner service of ${typeof fn}: give an exported function of ${where}`,
    );
  }
  if (module.exports) {
    // The function's own name first (the usual `export function f`), then any alias.
    if (fn.name && module.exports[fn.name] === fn) return fn.name;
    for (const [name, value] of Object.entries(module.exports)) if (value === fn) return name;
  } else if (fn.name && module.exportNames?.includes(fn.name)) {
    return fn.name;
  }
  throw new PagletError(
    "not_exported",
    `Cannot make a Runner service of '${fn.name || "an anonymous function"}' as it is not exported by ` +
      `${where}: executors on other hosts load the module and call its exports by name. ` +
      `Add 'export' to its declaration` +
      (module.exports ? "." : ` (an export under another name needs taskModule(import.meta.url, self)).`),
  );
}
