/**
 * Hosted artifacts under `<dataDir>/artifacts/`: `blobs/<id>` (content), `meta/<id>.json`
 * (metadata), `tmp/<id>.part` (uploads in progress). Uploads stream to a temp file while they are
 * hashed and counted; only a complete, verified upload is renamed into place. The bytes in use
 * are counted once at open and then kept as a running total, beside the bytes uploads in progress
 * reserved ({@link ArtifactSpace}).
 */
import { diskFullError, isDiskFull } from "../storage/disk_full.ts";
import { join } from "../../agents/paths.ts";
import { PagletError } from "../../agents/errors.ts";
import { HashingFileWriter, isSha256 } from "../storage/files/checksum.ts";
import { ArtifactSpace } from "./space.ts";
import { randomHex } from "../kernel/ids.ts";

/** An artifact's metadata. */
export interface ArtifactMeta {
  /** 32 lowercase hex characters. */
  id: string;
  name: string;
  size: number;
  sha256: string;
  /** Agent (or user) the artifact belongs to; free text. */
  owner: string | null;
  createdAt: number;
  /** Epoch ms after which the sweeper deletes it; null = kept until deleted. */
  expiresAt: number | null;
}

export interface ArtifactStoreOptions {
  /** Largest artifact; null = unlimited. @default 1 GiB */
  maxSize: number | null;
  /** Bytes all artifacts may use together; null = unlimited. @default 10 GiB */
  quota: number | null;
  /** Age after which a left-over `.part` file is deleted. @default 24 h */
  spoolTtlMs: number;
}

/** What an upload declares. */
export interface PutInput {
  name?: string;
  owner?: string | null;
  /** Expected SHA-256 (checked; a mismatch deletes the upload). */
  sha256?: string;
  /**
   * Declared size (Content-Length or x-size): reserved against the quota before the body is read;
   * the body must have exactly this many bytes. Without it, the bytes received so far are held.
   */
  size?: number;
  expiresAt?: number | null;
}

const ID = /^[0-9a-f]{32}$/;

/** Validates an artifact id: 32 lowercase hex characters, else 400. */
export function artifactId(id: unknown): string {
  if (typeof id !== "string" || !ID.test(id)) {
    throw new PagletError(
      "bad_request",
      `Malformed artifact id '${String(id)}': expected 32 lowercase hex characters`,
    );
  }
  return id;
}

function newArtifactId(): string {
  return randomHex(16);
}

/**
 * The longest name in UTF-8 bytes: a download into a folder writes `.NAME.xxxxxxxx.part` first
 * (15 bytes more), and a file name has at most 255 bytes on common file systems.
 */
const MAX_NAME_BYTES = 240;

function validName(name: string | undefined): string {
  const n = (name ?? "artifact").trim();
  const bytes = new TextEncoder().encode(n).length;
  // deno-lint-ignore no-control-regex
  if (bytes === 0 || bytes > MAX_NAME_BYTES || /[\u0000-\u001f/\\]/.test(n) || n === "." || n === "..") {
    throw new PagletError(
      "invalid_request",
      `Artifact name must be a file name of 1-${MAX_NAME_BYTES} bytes in UTF-8 (a download writes ` +
        `'.NAME.xxxxxxxx.part' beside it first, and a file name has at most 255 bytes) without '/', ` +
        `'\\' or control characters: '${shortened(n)}' (${bytes} bytes)`,
    );
  }
  return n;
}

/** `text` cut to its first 60 characters (a name in a message). */
function shortened(text: string): string {
  const chars = [...text];
  return chars.length > 60 ? `${chars.slice(0, 60).join("")}…` : text;
}

export class ArtifactStore {
  readonly root: string;
  readonly options: ArtifactStoreOptions;
  /** The bytes stored artifacts use and those uploads in progress reserved. */
  #space: ArtifactSpace;
  /** The earliest expiry of a stored artifact (Infinity: none expires): no sweep is due before it. */
  #nextExpiry = Infinity;

  constructor(root: string, options: Partial<ArtifactStoreOptions> = {}) {
    this.root = root;
    this.options = Object.freeze({
      maxSize: 1024 ** 3,
      quota: 10 * 1024 ** 3,
      spoolTtlMs: 86_400_000,
      ...options,
    });
    this.#space = this.#emptySpace();
  }

  #emptySpace(): ArtifactSpace {
    return new ArtifactSpace({ maxSize: this.options.maxSize, quota: this.options.quota });
  }

  #blob(id: string): string {
    return join(this.root, "blobs", id);
  }

  #meta(id: string): string {
    return join(this.root, "meta", `${id}.json`);
  }

  /** Bytes used by stored artifacts. */
  get usedBytes(): number {
    return this.#space.usedBytes;
  }

  /** Bytes uploads in progress hold (their declared sizes, or what they received). */
  get reservedBytes(): number {
    return this.#space.reservedBytes;
  }

  /** Creates the folders, drops half-written entries, and counts the bytes in use (once). */
  async open(): Promise<void> {
    for (const dir of ["blobs", "meta", "tmp"]) await Deno.mkdir(join(this.root, dir), { recursive: true });
    const metas = new Set<string>();
    this.#space = this.#emptySpace();
    for await (const entry of Deno.readDir(join(this.root, "meta"))) {
      const id = entry.name.replace(/\.json$/, "");
      if (!ID.test(id)) continue;
      const meta = await this.#readMeta(id);
      const blob = await Deno.stat(this.#blob(id)).catch(() => null);
      if (!meta || !blob || blob.size !== meta.size) {
        await this.#remove(id);
        continue;
      }
      metas.add(id);
      this.#space.stored(meta.size);
      this.#expiring(meta);
    }
    for await (const entry of Deno.readDir(join(this.root, "blobs"))) {
      // An orphan blob left behind is tried again at the next open.
      if (!metas.has(entry.name)) await Deno.remove(this.#blob(entry.name)).catch(() => {});
    }
  }

  async #readMeta(id: string): Promise<ArtifactMeta | null> {
    try {
      return JSON.parse(await Deno.readTextFile(this.#meta(id))) as ArtifactMeta;
    } catch {
      return null;
    }
  }

  /**
   * {@link ArtifactSpace.reserve}, after deleting expired artifacts when some have expired and they
   * are what fills the quota (the sweeper would delete them later). Otherwise it answers at once: an
   * upload refused before its body is read must be answered while the client still sends it.
   */
  #reserve(id: string, size: number, what: string): void | Promise<void> {
    try {
      this.#space.reserve(id, size, what);
    } catch (err) {
      const full = err instanceof PagletError && err.code === "quota_exceeded";
      if (!full || Date.now() < this.#nextExpiry) throw err;
      return this.sweep().then(() => this.#space.reserve(id, size, what));
    }
  }

  #expiring(meta: ArtifactMeta): void {
    if (meta.expiresAt !== null) this.#nextExpiry = Math.min(this.#nextExpiry, meta.expiresAt);
  }

  /**
   * Streams `body` into a new artifact; nothing is left behind when it fails. An upload of a
   * declared size reserves it before the body is read (refused at once when it does not fit); one
   * of no declared size holds what it has received, checked with each chunk. The store waits for
   * `body` as long as it takes: one that may stop arriving comes watched (host/arriving_body.ts),
   * and fails the upload with its `timeout`.
   */
  async put(body: ReadableStream<Uint8Array> | null, input: PutInput = {}): Promise<ArtifactMeta> {
    const name = validName(input.name);
    if (input.sha256 !== undefined && !isSha256(input.sha256)) {
      throw new PagletError("bad_request", "x-sha256 must be 64 lowercase hex characters");
    }
    if (input.owner && input.owner.length > 200) {
      throw new PagletError("invalid_request", "Artifact owner is longer than 200 characters");
    }
    const declared = input.size;
    const id = newArtifactId();
    await this.#reserve(id, declared ?? 0, "An upload");
    const part = join(this.root, "tmp", `${id}.part`);
    const writer = await HashingFileWriter.create(part).catch((err) => {
      this.#space.release(id);
      throw diskFullError(err);
    });
    try {
      if (body) {
        const reader = body.getReader();
        for (let read = await reader.read(); !read.done; read = await reader.read()) {
          const chunk = read.value;
          const size = writer.size + chunk.length;
          if (declared === undefined) {
            const room = this.#reserve(id, size, "An upload (of no declared size)");
            if (room) await room;
          } else if (size > declared) {
            throw new PagletError("bad_request", `Upload is longer than its declared ${declared} bytes`);
          }
          await writer.write(chunk);
        }
      }
      const size = writer.size;
      const sha256 = await writer.close();
      if (declared !== undefined && size !== declared) {
        throw new PagletError("bad_request", `Upload ended after ${size} of ${declared} declared bytes`);
      }
      if (input.sha256 !== undefined && sha256 !== input.sha256) {
        throw new PagletError("checksum_mismatch", `Upload has SHA-256 ${sha256}, expected ${input.sha256}`);
      }
      const meta: ArtifactMeta = {
        id,
        name,
        size,
        sha256,
        owner: input.owner ?? null,
        createdAt: Date.now(),
        expiresAt: input.expiresAt ?? null,
      };
      await Deno.rename(part, this.#blob(id));
      const tmpMeta = join(this.root, "tmp", `${id}.json`);
      await Deno.writeTextFile(tmpMeta, JSON.stringify(meta));
      await Deno.rename(tmpMeta, this.#meta(id));
      this.#space.commit(id, size);
      this.#expiring(meta);
      return meta;
    } catch (err) {
      // Free for other uploads now, not once the clean-up below is done.
      this.#space.release(id);
      await writer.abort();
      await Deno.remove(this.#blob(id)).catch(() => {});
      if (err instanceof PagletError || isDiskFull(err)) throw diskFullError(err);
      throw new PagletError("bad_request", `Upload interrupted: ${(err as Error).message}`);
    }
  }

  /** Metadata of artifact `id` (404 if there is none). */
  async get(id: string): Promise<ArtifactMeta> {
    const meta = await this.#readMeta(artifactId(id));
    if (!meta) throw new PagletError("artifact_not_found", `No artifact ${id} on this host`);
    if (expired(meta)) {
      throw new PagletError(
        "artifact_not_found",
        `Artifact ${id} expired at ${new Date(meta.expiresAt!).toISOString()}`,
      );
    }
    return meta;
  }

  /** Opens artifact `id` for reading. */
  async openBlob(id: string): Promise<{ meta: ArtifactMeta; file: Deno.FsFile; path: string }> {
    const meta = await this.get(id);
    const path = this.#blob(meta.id);
    try {
      return { meta, file: await Deno.open(path, { read: true }), path };
    } catch {
      throw new PagletError("artifact_not_found", `No artifact ${id} on this host`);
    }
  }

  /** The artifacts (of `owner`), oldest first; expired ones are gone for readers, swept later. */
  async list(owner?: string): Promise<ArtifactMeta[]> {
    const now = Date.now();
    return (await this.#all()).filter((m) => !expired(m, now) && (owner === undefined || m.owner === owner));
  }

  async #all(): Promise<ArtifactMeta[]> {
    const out: ArtifactMeta[] = [];
    for await (const entry of Deno.readDir(join(this.root, "meta"))) {
      const id = entry.name.replace(/\.json$/, "");
      if (!ID.test(id)) continue;
      const meta = await this.#readMeta(id);
      if (meta) out.push(meta);
    }
    return out.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  /**
   * Deletes artifact `id` (404 if there is none). Of deletes that cross, one succeeds and the others
   * answer 404, as if they came after it: so a download with `move` can claim an artifact.
   */
  async delete(id: string): Promise<void> {
    if (!await this.#drop(await this.get(id))) {
      throw new PagletError(
        "artifact_not_found",
        `No artifact ${id} on this host (it was deleted meanwhile)`,
      );
    }
  }

  /**
   * Removes an artifact; false when its metadata was gone already (another delete or a sweep
   * removed it first). Another failure to remove the metadata is thrown: the artifact stays.
   */
  async #drop(meta: ArtifactMeta): Promise<boolean> {
    // Counted once, by whoever removed its metadata (a sweep and a delete may cross).
    try {
      await Deno.remove(this.#meta(meta.id));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw err;
    }
    await Deno.remove(this.#blob(meta.id)).catch(() => {/* an orphan, swept at the next open */});
    this.#space.freed(meta.size);
    return true;
  }

  async #remove(id: string): Promise<void> {
    // Removal: a file left behind is an orphan, swept at the next open.
    await Deno.remove(this.#meta(id)).catch(() => {});
    await Deno.remove(this.#blob(id)).catch(() => {});
  }

  /** Deletes stale `.part` files and expired artifacts; returns how many entries went. */
  async sweep(now = Date.now()): Promise<number> {
    let removed = 0;
    for await (const entry of Deno.readDir(join(this.root, "tmp"))) {
      const id = entry.name.replace(/\.(part|json)$/, "");
      if (this.#space.holds(id)) continue;
      const path = join(this.root, "tmp", entry.name);
      const stat = await Deno.stat(path).catch(() => null);
      if (stat && now - (stat.mtime?.getTime() ?? 0) > this.options.spoolTtlMs) {
        // An expired spool file left behind is tried again at the next sweep.
        await Deno.remove(path).catch(() => {});
        removed++;
      }
    }
    this.#nextExpiry = Infinity;
    for (const meta of await this.#all()) {
      if (expired(meta, now)) {
        // One a delete removed meanwhile needs nothing more; one that could not be deleted is
        // tried again at the next sweep.
        const dropped = await this.#drop(meta).catch(() => null);
        if (dropped) removed++;
        else if (dropped === null) this.#expiring(meta);
      } else {
        this.#expiring(meta);
      }
    }
    return removed;
  }
}

/** Whether `meta` is past its expiry (`now`: default the current time). */
function expired(meta: ArtifactMeta, now = Date.now()): boolean {
  return meta.expiresAt !== null && meta.expiresAt <= now;
}
