/**
 * The host's code for `paglets host`: from the bundle (dist/host-bundle/, built by
 * scripts/host_bundle.ts) when it matches the source, else from the source modules. The two are the
 * same code; the bundle only loads in about half the CPU time (docs/performance.md, "Start-up").
 *
 * The bundle matches when every source file that went into it still has the size and modification
 * time its manifest lists (one stat per file, about 200: 7–9 ms at a fresh process's start). Anything else (no
 * bundle, an edited file, an unreadable manifest) means the source: slower, never different.
 * `PAGLETS_HOST_BUNDLE=0` asks for the source.
 *
 * @module
 */
import type { Host } from "../host/host.ts";
import { setBuild, version } from "../host/version.ts";
import type { extensionsForHost } from "./extensions.ts";
// Type-checked (deno check follows it) but never loaded from here: the import below is by URL.
import type * as HostSource from "./host_source.ts";

/** The entry file in the bundle's folder. */
export const HOST_BUNDLE_ENTRY = "host.js";
/** The manifest beside it. */
export const HOST_BUNDLE_MANIFEST = "manifest.json";
/**
 * The Pi example's compute threads' script, bundled beside the host's code (scripts/host_bundle.ts)
 * and started from there by a host whose code came from the bundle (examples/pi/worker_pool.ts).
 */
export const PI_WORKER_BUNDLE = "pi_worker.js";

/** What scripts/host_bundle.ts writes beside the bundle. */
export interface HostBundleManifest {
  /** Source files (relative to the project root) → [size in bytes, modification time in ms]. */
  inputs: Record<string, [number, number]>;
  /** A hash of those files' paths and contents: the build host/version.ts reports. */
  build?: string;
  /** The bundle's files (but the manifest) → size in bytes, as built. */
  outputs?: Record<string, number>;
}

export interface HostCode {
  Host: typeof Host;
  extensionsForHost: typeof extensionsForHost;
  /** Where it came from: "bundle" or "source". */
  from: "bundle" | "source";
}

const ROOT = new URL("../", import.meta.url);
const BUNDLE_DIR = new URL("../dist/host-bundle/", import.meta.url);

/** True when the bundle in `dir` was built from the source files as they are now. */
export function bundleIsCurrent(dir: URL = BUNDLE_DIR, root: URL = ROOT): boolean {
  return currentBundle(dir, root) !== null;
}

/**
 * The build of the host code this checkout (or binary) runs: its bundle's when the bundle is
 * current, else `source` (host/version.ts).
 */
export function hostBuild(dir: URL = BUNDLE_DIR, root: URL = ROOT): string {
  return currentBundle(dir, root)?.build ?? "source";
}

/** The version `paglets --version` prints: the release and this checkout's (or binary's) build. */
export function processVersion(): string {
  setBuild(hostBuild());
  return version();
}

/** The manifest of the bundle in `dir` when it was built from the source files as they are now. */
function currentBundle(dir: URL, root: URL): HostBundleManifest | null {
  let manifest: HostBundleManifest;
  try {
    manifest = JSON.parse(Deno.readTextFileSync(new URL(HOST_BUNDLE_MANIFEST, dir)));
  } catch {
    return null;
  }
  const inputs = Object.entries(manifest?.inputs ?? {});
  if (inputs.length === 0) return null;
  // Paths, not a URL per file: this check runs at every host start (about 200 files).
  const rootPath = decodeURIComponent(root.pathname);
  for (const [path, [size, mtime]] of inputs) {
    try {
      const stat = Deno.statSync(rootPath + path);
      // A file system without modification times (a compiled binary's embedded files, which
      // cannot change) is compared by size.
      if (stat.size !== size || (stat.mtime !== null && stat.mtime.getTime() !== mtime)) return null;
    } catch {
      return null;
    }
  }
  return manifest;
}

/**
 * Imports the host's code: the bundle when it is current (and `bundle` allows it), else the source.
 * Only a command whose modules scripts/host_bundle.ts leaves outside the bundle may load it (one
 * instance of each module per process): `paglets host` and `paglets examples pi`.
 */
export async function loadHostCode(bundle = true): Promise<HostCode> {
  const wanted = bundle && Deno.env.get("PAGLETS_HOST_BUNDLE") !== "0";
  const manifest = wanted ? currentBundle(BUNDLE_DIR, ROOT) : null;
  // By URL, not a literal: Deno would prepare the graph of a literal import() when this module loads.
  if (manifest !== null) {
    const code = await import(new URL(HOST_BUNDLE_ENTRY, BUNDLE_DIR).href) as Omit<HostCode, "from">;
    loadedFrom = "bundle";
    if (manifest.build) setBuild(manifest.build);
    return { Host: code.Host, extensionsForHost: code.extensionsForHost, from: "bundle" };
  }
  const code = await import(new URL("./host_source.ts", import.meta.url).href) as typeof HostSource;
  // The source files are the build's when they match its bundle (asked only when a version is).
  if (loadedFrom === undefined) setBuild(bundle ? "source" : () => hostBuild());
  loadedFrom ??= "source";
  return { Host: code.Host, extensionsForHost: code.extensionsForHost, from: "source" };
}

let loadedFrom: HostCode["from"] | undefined;

/** The URL of `file` in the bundle's folder (the pi workers' script, {@link PI_WORKER_BUNDLE}). */
export function hostBundleFile(file: string): string {
  return new URL(file, BUNDLE_DIR).href;
}

/**
 * Where this process's host code came from (the bundle once any load took it; undefined when
 * loadHostCode was not called, as in tests that import the host's modules). Threads the host starts
 * from scripts of its own take the same side: the bundle was found current when it loaded.
 */
export function hostCodeFrom(): HostCode["from"] | undefined {
  return loadedFrom;
}
