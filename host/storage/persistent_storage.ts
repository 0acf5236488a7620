/**
 * Per-type persistent storage with a quota. Usage is counted once per type (a tree walk on first
 * use) and then kept up to date on every write and delete, never re-walked per write.
 */
import { dirname, isAbsolute, join, normalize, relative } from "../../agents/paths.ts";
import { PagletError } from "../../agents/errors.ts";

/** Validates a relative file name inside a root: no absolute paths, no `..`, no empty names. */
export function safeRelativePath(path: unknown): string {
  if (typeof path !== "string" || path.length === 0 || path.length > 1024) {
    throw new PagletError(
      "invalid_request",
      "A file name must be a non-empty string of at most 1024 characters",
    );
  }
  if (isAbsolute(path) || path.includes("\0") || path.includes("\\")) {
    throw new PagletError("invalid_request", `File name must be relative: '${path}'`);
  }
  const normal = normalize(path);
  if (normal === "." || normal.startsWith("..") || normal.split("/").includes("..")) {
    throw new PagletError("invalid_request", `File name must stay inside its folder: '${path}'`);
  }
  return normal;
}

/** A directory name for a type or agent id. */
export function safeSegment(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_");
}

async function treeSize(dir: string): Promise<number> {
  let total = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      const p = join(dir, entry.name);
      if (entry.isDirectory) total += await treeSize(p);
      else if (entry.isFile) total += (await Deno.stat(p)).size;
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return total;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}

export class PersistentStorageRoot {
  readonly #root: string;
  readonly #quota: number | null;
  readonly #usage = new Map<string, Promise<number>>();
  /** Serialises writes per type so quota checks and usage updates do not race. */
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(root: string, quotaBytes: number | null) {
    this.#root = root;
    this.#quota = quotaBytes;
  }

  #dir(type: string): string {
    return join(this.#root, safeSegment(type));
  }

  #used(type: string): Promise<number> {
    let used = this.#usage.get(type);
    if (!used) {
      used = treeSize(this.#dir(type));
      this.#usage.set(type, used);
    }
    return used;
  }

  async #locked<T>(type: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(type) ?? Promise.resolve();
    // The previous caller got its own failure; the next one runs regardless.
    const next = prev.catch(() => {}).then(fn);
    this.#locks.set(type, next);
    return await next;
  }

  async read(type: string, path: string): Promise<Uint8Array | null> {
    try {
      return await Deno.readFile(join(this.#dir(type), safeRelativePath(path)));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw err;
    }
  }

  write(type: string, path: string, data: Uint8Array): Promise<void> {
    if (!(data instanceof Uint8Array)) {
      throw new PagletError("invalid_request", "Storage data must be a Uint8Array");
    }
    const file = join(this.#dir(type), safeRelativePath(path));
    return this.#locked(type, async () => {
      const used = await this.#used(type);
      const projected = used - await fileSize(file) + data.length;
      if (this.#quota !== null && projected > this.#quota) {
        throw new PagletError(
          "quota_exceeded",
          `Persistent storage of ${type} would use ${projected} bytes; the quota is ${this.#quota}`,
        );
      }
      await Deno.mkdir(dirname(file), { recursive: true });
      const tmp = `${file}.${crypto.randomUUID()}.tmp`;
      await Deno.writeFile(tmp, data);
      await Deno.rename(tmp, file);
      this.#usage.set(type, Promise.resolve(projected));
    });
  }

  delete(type: string, path: string): Promise<void> {
    const file = join(this.#dir(type), safeRelativePath(path));
    return this.#locked(type, async () => {
      const used = await this.#used(type);
      const info = await Deno.stat(file).catch(() => null);
      const size = info?.isDirectory ? await treeSize(file) : info?.size ?? 0;
      await Deno.remove(file, { recursive: true }).catch((err) => {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      });
      this.#usage.set(type, Promise.resolve(Math.max(0, used - size)));
    });
  }

  async list(type: string): Promise<string[]> {
    const root = this.#dir(type);
    const out: string[] = [];
    const walk = async (dir: string) => {
      try {
        for await (const entry of Deno.readDir(dir)) {
          const p = join(dir, entry.name);
          if (entry.isDirectory) await walk(p);
          else if (entry.isFile && !entry.name.endsWith(".tmp")) out.push(relative(root, p));
        }
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    };
    await walk(root);
    return out.sort();
  }

  async status(type: string): Promise<{ usedBytes: number; quotaBytes: number | null }> {
    return { usedBytes: await this.#used(type), quotaBytes: this.#quota };
  }
}
