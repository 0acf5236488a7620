/**
 * Bundles of scripts kept between runs: `paglets run` of an unchanged script skips the bundler
 * (whose WebAssembly takes about a second to start). An entry is used only when every file that
 * went into the bundle still has the bytes it had, and the bundle still has its hash.
 *
 * Layout: `<dir>/<sha256 of the script's path>.json` (`{hash, inputs: {path: sha256}}`) and
 * `<dir>/<hash>.js`.
 *
 * The cache stays small: each bundle made sweeps it ({@link BundleCache.prune}): a script's entry
 * not run for {@link ENTRY_KEPT_MS} goes, and so does a bundle no entry names any longer (the
 * versions of a script edited since).
 */
import { homeDir, join, resolve } from "../../agents/paths.ts";
import type { Bundle } from "./bundler.ts";
import { sha256Hex } from "./hash.ts";

/** An entry (a script's manifest) not used for this long is deleted with its bundle. */
export const ENTRY_KEPT_MS = 30 * 24 * 3600 * 1000;
/**
 * A bundle no entry names, or a half-written manifest, younger than this is left alone: another
 * run may be between writing its bundle and its manifest.
 */
const UNNAMED_KEPT_MS = 600_000;

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
      const manifestPath = await this.#manifestPath(entry);
      const manifest = JSON.parse(await Deno.readTextFile(manifestPath)) as Manifest;
      for (const [path, hash] of Object.entries(manifest.inputs)) {
        if (await sha256Hex(await Deno.readFile(path)) !== hash) return null;
      }
      const source = await Deno.readFile(join(this.#dir, `${manifest.hash}.js`));
      if (await sha256Hex(source) !== manifest.hash) return null;
      // A use keeps the entry (see prune).
      const now = new Date();
      await Deno.utime(manifestPath, now, now).catch(() => {});
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
      await this.prune();
    } catch {
      // Read-only home or full disk: the script still runs, bundled each time.
    }
  }

  /**
   * Deletes the entries not used for {@link ENTRY_KEPT_MS} and the bundles no entry names (each
   * left alone while younger than ten minutes, and half-written manifests likewise); returns the
   * names of the files deleted. Runs when a bundle was made, never on a cached run's way.
   */
  async prune(now = Date.now()): Promise<string[]> {
    const files: { name: string; mtime: number }[] = [];
    for await (const e of Deno.readDir(this.#dir)) {
      if (!e.isFile) continue;
      const mtime = (await Deno.stat(join(this.#dir, e.name)).catch(() => null))?.mtime?.getTime();
      if (mtime !== undefined) files.push({ name: e.name, mtime });
    }
    const named = new Set<string>();
    const removed: string[] = [];
    const remove = async (name: string) => {
      await Deno.remove(join(this.#dir, name)).then(() => removed.push(name), () => {});
    };
    for (const { name, mtime } of files) {
      if (!name.endsWith(".json")) continue;
      if (now - mtime > ENTRY_KEPT_MS) {
        await remove(name);
        continue;
      }
      try {
        named.add((JSON.parse(await Deno.readTextFile(join(this.#dir, name))) as Manifest).hash);
      } catch { /* damaged: its bundle is not kept for it; get() bundles again */ }
    }
    for (const { name, mtime } of files) {
      const bundle = name.endsWith(".js") && !named.has(name.slice(0, -3));
      if ((bundle || name.endsWith(".part")) && now - mtime > UNNAMED_KEPT_MS) await remove(name);
    }
    return removed;
  }
}
