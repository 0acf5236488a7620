/**
 * Bundles of scripts kept between runs: `paglets run` of an unchanged script skips the bundler
 * (whose WebAssembly takes about a second to start). An entry is used only when every file that
 * went into the bundle still has the bytes it had, and the bundle still has its hash.
 *
 * Layout: `<dir>/<sha256 of the script's path>.json` (`{hash, inputs: {path: sha256}}`) and
 * `<dir>/<hash>.js`.
 */
import { homeDir, join, resolve } from "../../agents/paths.ts";
import type { Bundle } from "./bundler.ts";
import { sha256Hex } from "./hash.ts";

interface Manifest {
  hash: string;
  inputs: Record<string, string>;
}

/** `$PAGLETS_HOME/cache/bundles`, else `$XDG_CACHE_HOME/paglets/bundles` or `~/.cache/paglets/bundles`. */
export function defaultBundleCacheDir(): string {
  const home = Deno.env.get("PAGLETS_HOME");
  if (home) return join(home, "cache", "bundles");
  return join(Deno.env.get("XDG_CACHE_HOME") ?? join(homeDir(), ".cache"), "paglets", "bundles");
}

export class BundleCache {
  readonly #dir: string;

  constructor(dir: string = defaultBundleCacheDir()) {
    this.#dir = dir;
  }

  async #manifestPath(entry: string): Promise<string> {
    return join(this.#dir, `${await sha256Hex(new TextEncoder().encode(resolve(entry)))}.json`);
  }

  /** The bundle of `entry` made earlier from the same bytes, or null. */
  async get(entry: string): Promise<Bundle | null> {
    try {
      const manifest = JSON.parse(await Deno.readTextFile(await this.#manifestPath(entry))) as Manifest;
      for (const [path, hash] of Object.entries(manifest.inputs)) {
        if (await sha256Hex(await Deno.readFile(path)) !== hash) return null;
      }
      const source = await Deno.readFile(join(this.#dir, `${manifest.hash}.js`));
      if (await sha256Hex(source) !== manifest.hash) return null;
      return { source, hash: manifest.hash, inputs: Object.keys(manifest.inputs) };
    } catch {
      // No entry, an input gone, or a damaged file: bundle again.
      return null;
    }
  }

  /** Keeps `bundle` for `entry`; a cache that cannot be written only costs the next run time. */
  async put(entry: string, bundle: Bundle): Promise<void> {
    try {
      const inputs: Record<string, string> = {};
      for (const path of bundle.inputs) inputs[path] = await sha256Hex(await Deno.readFile(path));
      await Deno.mkdir(this.#dir, { recursive: true });
      await Deno.writeFile(join(this.#dir, `${bundle.hash}.js`), bundle.source);
      const manifest: Manifest = { hash: bundle.hash, inputs };
      const path = await this.#manifestPath(entry);
      const temp = `${path}.${crypto.randomUUID()}.part`;
      await Deno.writeTextFile(temp, JSON.stringify(manifest));
      await Deno.rename(temp, path);
    } catch {
      // Read-only home or full disk: the script still runs, bundled each time.
    }
  }
}
