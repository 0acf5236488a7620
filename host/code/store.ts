/**
 * The host's code store: travelling modules by content hash, in `<dataDir>/code/<hash>.js`.
 * Bytes are checked against their hash on the way in and on the way out, so a file changed on disk
 * is refused like a tampered download; such a file is set aside (`<hash>.js.rejected`), never run.
 * The store remembers each file it found matching as it was then (inode, size, modification and
 * change times): asked again whether it holds a good copy ({@link CodeStore.holds}: at every
 * arrival of an agent of the module), it reads and hashes only a file that changed since.
 */
import { join } from "../../agents/paths.ts";
import { PagletError } from "../../agents/errors.ts";
import { isCodeHash, sha256Hex } from "./hash.ts";

/** A file of the store: a module's hash or a leftover's file name, and its modification time. */
export interface StoredFile {
  name: string;
  mtimeMs: number;
}

/** An upload or a fetch being written (renamed to its module's name once complete). */
const PART = /^[0-9a-f]{64}\.js\.[0-9a-f-]{36}\.part$/;
/** A module's file that did not match its hash, set aside by {@link CodeStore.setAside}. */
const REJECTED = /^[0-9a-f]{64}\.js\.rejected$/;

/** What a change to a file's bytes changes (a write, a replacement, a time set by hand): its stat as a key. */
function identity(stat: Deno.FileInfo): string {
  return `${stat.ino} ${stat.size} ${stat.mtime?.getTime()} ${stat.ctime?.getTime()}`;
}

export class CodeStore {
  readonly #dir: string;
  /** Per hash: the {@link identity} of its file when the store last read it matching its hash. */
  readonly #matched = new Map<string, string>();

  constructor(dir: string) {
    this.#dir = dir;
  }

  #path(hash: string): string {
    if (!isCodeHash(hash)) {
      throw new PagletError("invalid_code_hash", `A code hash is 64 lowercase hex digits: got '${hash}'`);
    }
    return join(this.#dir, `${hash}.js`);
  }

  async has(hash: string): Promise<boolean> {
    try {
      await Deno.stat(this.#path(hash));
      return true;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw err;
    }
  }

  /** The module's bytes, or null when this host does not have it; throws `code_tampered` on a mismatch. */
  async read(hash: string): Promise<Uint8Array | null> {
    const path = this.#path(hash);
    let before: Deno.FileInfo, bytes: Uint8Array;
    try {
      before = await Deno.stat(path);
      bytes = await Deno.readFile(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw err;
    }
    this.#matched.delete(hash);
    await checkHash(bytes, hash, "the host's code store");
    // Remembered only when nothing changed the file while it was read: then these are its bytes.
    const after = await Deno.stat(path).catch(() => null);
    if (after && identity(after) === identity(before)) this.#matched.set(hash, identity(after));
    return bytes;
  }

  /**
   * Whether the store holds a copy of the module that matches its hash: false when it has none;
   * throws `code_tampered` on a mismatch. A file unchanged since the store last read it matching is
   * not read again.
   */
  async holds(hash: string): Promise<boolean> {
    let stat: Deno.FileInfo;
    try {
      stat = await Deno.stat(this.#path(hash));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw err;
    }
    return this.#matched.get(hash) === identity(stat) || await this.read(hash) !== null;
  }

  /** Stores `bytes` under their hash (checked against `expected` when given); returns the hash. */
  async put(bytes: Uint8Array, expected?: string): Promise<string> {
    const hash = await sha256Hex(bytes);
    if (expected !== undefined) await checkHash(bytes, expected, "the upload", hash);
    const path = this.#path(hash);
    await Deno.mkdir(this.#dir, { recursive: true });
    // Written aside and renamed: a crash never leaves a partial module under a valid name.
    const temp = `${path}.${crypto.randomUUID()}.part`;
    try {
      await Deno.writeFile(temp, bytes);
      await Deno.rename(temp, path);
    } catch (err) {
      await Deno.remove(temp).catch(() => {/* never written */});
      throw err;
    }
    return hash;
  }

  /** Moves the module's file time to now (a use: see CodeLoader.prune); NotFound when it is not stored. */
  async touch(hash: string): Promise<void> {
    const now = new Date();
    await Deno.utime(this.#path(hash), now, now);
  }

  /**
   * Moves the module's file time back to 1970: unused, as far as the sweep can tell (a module that
   * failed to load: CodeLoader.prune); NotFound when it is not stored.
   */
  async age(hash: string): Promise<void> {
    await Deno.utime(this.#path(hash), new Date(0), new Date(0));
  }

  /**
   * Takes a module's file that does not match its hash out of the store, as `<hash>.js.rejected`
   * (what was in it, for whoever looks into it; the sweep deletes it after the retention), so that
   * it is never read as the module again (nothing to do when it was set aside already).
   */
  async setAside(hash: string): Promise<void> {
    const path = this.#path(hash);
    const aside = `${path}.rejected`;
    this.#matched.delete(hash);
    try {
      await Deno.rename(path, aside);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw err;
    }
    // Kept for the retention from now, not from the damaged file's last use.
    const now = new Date();
    await Deno.utime(aside, now, now).catch(() => {/* deleted meanwhile */});
  }

  /**
   * The modules stored here with their file times (stored, or last used), the names of uploads a
   * crash left half-written (`.part`) and of files set aside (`.rejected`) with theirs.
   */
  async scan(): Promise<{ modules: StoredFile[]; parts: StoredFile[]; rejected: StoredFile[] }> {
    const modules: StoredFile[] = [], parts: StoredFile[] = [], rejected: StoredFile[] = [];
    try {
      for await (const entry of Deno.readDir(this.#dir)) {
        if (!entry.isFile) continue;
        const hash = entry.name.replace(/\.js$/, "");
        const list = isCodeHash(hash)
          ? modules
          : PART.test(entry.name)
          ? parts
          : REJECTED.test(entry.name)
          ? rejected
          : null;
        if (list === null) continue;
        const stat = await Deno.stat(join(this.#dir, entry.name)).catch(() => null);
        if (stat) {
          list.push({ name: isCodeHash(hash) ? hash : entry.name, mtimeMs: stat.mtime?.getTime() ?? 0 });
        }
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    return { modules, parts, rejected };
  }

  /**
   * Deletes module `hash` (or a `.part` or `.rejected` file named by {@link scan}); false when it
   * was not there.
   */
  removeSync(hashOrFile: string): boolean {
    const path = isCodeHash(hashOrFile) ? this.#path(hashOrFile) : join(this.#dir, hashOrFile);
    if (!isCodeHash(hashOrFile) && !PART.test(hashOrFile) && !REJECTED.test(hashOrFile)) {
      throw new PagletError("invalid_request", `Not a file of the code store: '${hashOrFile}'`);
    }
    this.#matched.delete(hashOrFile);
    try {
      Deno.removeSync(path);
      return true;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw err;
    }
  }

  /** Hashes of the modules stored here. */
  async list(): Promise<string[]> {
    const hashes: string[] = [];
    try {
      for await (const entry of Deno.readDir(this.#dir)) {
        const hash = entry.name.replace(/\.js$/, "");
        if (entry.isFile && isCodeHash(hash)) hashes.push(hash);
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    return hashes.sort();
  }
}

/** Throws `code_tampered` when `bytes` do not hash to `hash`. */
export async function checkHash(
  bytes: Uint8Array,
  hash: string,
  source: string,
  actual?: string,
): Promise<void> {
  actual ??= await sha256Hex(bytes);
  if (actual !== hash) {
    throw new PagletError(
      "code_tampered",
      `Module ${hash} from ${source} does not match its hash (its bytes hash to ${actual}); refused`,
    );
  }
}
