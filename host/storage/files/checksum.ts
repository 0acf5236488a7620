/**
 * Streaming SHA-256 and buffered file writing: big files are hashed and written chunk by chunk,
 * never held in memory whole.
 */
import type { Hash } from "node:crypto";
import { writeAll } from "../../write_all.ts";

/**
 * Node's streaming SHA-256 (Web Crypto hashes whole buffers only), imported on first use: importing
 * a Node module loads Deno's Node polyfills (40-150 ms of CPU), which a host that never hashes a
 * file does not need at start.
 */
let nodeCrypto: Promise<typeof import("node:crypto")> | undefined;
async function newSha256(): Promise<Hash> {
  nodeCrypto ??= import("node:crypto");
  return (await nodeCrypto).createHash("sha256");
}

const READ_CHUNK = 1 << 20;
/** Incoming network chunks are small (tens of KiB); writing them one by one is slow. */
const WRITE_BATCH = 4 << 20;

/** Lowercase hex SHA-256 of a file, read in 1 MiB chunks. */
export async function sha256File(path: string): Promise<{ sha256: string; size: number }> {
  const hash = await newSha256();
  using file = await Deno.open(path, { read: true });
  const buf = new Uint8Array(READ_CHUNK);
  let size = 0;
  while (true) {
    const n = await file.read(buf);
    if (n === null) break;
    hash.update(buf.subarray(0, n));
    size += n;
  }
  return { sha256: hash.digest("hex"), size };
}

/** Is `text` a lowercase hex SHA-256? */
export function isSha256(text: unknown): text is string {
  return typeof text === "string" && /^[0-9a-f]{64}$/.test(text);
}

/**
 * Writes a stream of chunks to a file while hashing them. Chunks are gathered into 4 MiB
 * batches; one batch is written while the next is received and hashed (two buffers), so the
 * disk and the hashing overlap. Call `close()` to flush and get the digest, or `abort()` to close
 * and delete the file.
 */
export class HashingFileWriter {
  readonly path: string;
  readonly #file: Deno.FsFile;
  readonly #hash: Hash;
  #batch: Uint8Array = new Uint8Array(WRITE_BATCH);
  #spare: Uint8Array | null = null;
  #used = 0;
  /** The write of the previous batch, still under way. */
  #writing: Promise<void> | null = null;
  size = 0;

  private constructor(path: string, file: Deno.FsFile, hash: Hash) {
    this.path = path;
    this.#file = file;
    this.#hash = hash;
  }

  static async create(path: string): Promise<HashingFileWriter> {
    const hash = await newSha256();
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    return new HashingFileWriter(path, file, hash);
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#hash.update(chunk);
    this.size += chunk.length;
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(chunk.length - offset, WRITE_BATCH - this.#used);
      this.#batch.set(chunk.subarray(offset, offset + take), this.#used);
      this.#used += take;
      offset += take;
      if (this.#used === WRITE_BATCH) await this.#handOver();
    }
  }

  /** Starts writing the full batch and continues in the other buffer (after the one before is written). */
  async #handOver(): Promise<void> {
    await this.#writing;
    const full = this.#batch.subarray(0, this.#used);
    const done = this.#batch;
    this.#writing = writeAll(this.#file, full).then(() => {
      this.#spare = done;
    });
    this.#batch = this.#spare ?? new Uint8Array(WRITE_BATCH);
    this.#spare = null;
    this.#used = 0;
  }

  /**
   * Flushes and closes; returns the hex digest. No fsync: like the host database (WAL,
   * synchronous=NORMAL) the file survives a process crash, not a power loss.
   */
  async close(): Promise<string> {
    try {
      await this.#writing;
      await writeAll(this.#file, this.#batch.subarray(0, this.#used));
    } finally {
      this.#file.close();
      this.#batch = new Uint8Array(0);
      this.#spare = null;
    }
    return this.#hash.digest("hex");
  }

  /** Closes and deletes the partial file. */
  async abort(): Promise<void> {
    // Aborting: the write's failure no longer matters, the file is removed next.
    await this.#writing?.catch(() => {});
    try {
      this.#file.close();
    } catch { /* closed already */ }
    // A partial file left behind is never read (its name ends in .part).
    await Deno.remove(this.path).catch(() => {});
  }
}
