/**
 * Hosted artifacts under `<dataDir>/artifacts/`: `blobs/<id>` (content), `meta/<id>.json`
 * (metadata), `tmp/<id>.part` (uploads in progress). Uploads stream to a temp file while they are
 * hashed and counted; only a complete, verified upload is renamed into place. The bytes in use
 * are counted once at open and then kept as a running total.
 */
import { diskFullError, isDiskFull } from "../storage/disk_full.ts";
import { join } from "../../agents/paths.ts";
import { PagletError } from "../../agents/errors.ts";
import { HashingFileWriter, isSha256 } from "../storage/files/checksum.ts";

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
  /** Declared size (Content-Length); checked against the limits before reading. */
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
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function validName(name: string | undefined): string {
  const n = (name ?? "artifact").trim();
  // deno-lint-ignore no-control-regex
  if (n.length === 0 || n.length > 255 || /[\u0000-\u001f/\\]/.test(n) || n === "." || n === "..") {
    throw new PagletError(
      "invalid_request",
      `Artifact name must be 1-255 characters without '/', '\\' or control characters: '${n}'`,
    );
  }
  return n;
}

export class ArtifactStore {
  readonly root: string;
  readonly options: ArtifactStoreOptions;
  #used = 0;
  /** The earliest expiry of a stored artifact (Infinity: none expires): no sweep is due before it. */
  #nextExpiry = Infinity;
  /** Bytes received so far by uploads in progress (they count against the quota too). */
  readonly #receiving = new Map<string, number>();

  constructor(root: string, options: Partial<ArtifactStoreOptions> = {}) {
    this.root = root;
    this.options = Object.freeze({
      maxSize: 1024 ** 3,
      quota: 10 * 1024 ** 3,
      spoolTtlMs: 86_400_000,
      ...options,
    });
  }

  #blob(id: string): string {
    return join(this.root, "blobs", id);
  }

  #meta(id: string): string {
    return join(this.root, "meta", `${id}.json`);
  }

  /** Bytes used by stored artifacts. */
  get usedBytes(): number {
    return this.#used;
  }

  /** Creates the folders, drops half-written entries, and counts the bytes in use (once). */
  async open(): Promise<void> {
    for (const dir of ["blobs", "meta", "tmp"]) await Deno.mkdir(join(this.root, dir), { recursive: true });
    const metas = new Set<string>();
    this.#used = 0;
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
      this.#used += meta.size;
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
   * {@link #checkRoom}, after deleting expired artifacts when some have expired and they are what
   * fills the quota (the sweeper would delete them later). Otherwise it answers at once: an upload
   * refused before its body is read must be answered while the client still sends it.
   */
  #room(size: number, what: string, self?: string): void | Promise<void> {
    if (Date.now() < this.#nextExpiry) return this.#checkRoom(size, what, self);
    try {
      this.#checkRoom(size, what, self);
    } catch (err) {
      if (!(err instanceof PagletError && err.code === "quota_exceeded")) throw err;
      return this.sweep().then(() => this.#checkRoom(size, what, self));
    }
  }

  #expiring(meta: ArtifactMeta): void {
    if (meta.expiresAt !== null) this.#nextExpiry = Math.min(this.#nextExpiry, meta.expiresAt);
  }

  /** Throws when `size` more bytes (for upload `self`) would break the size limit or the quota. */
  #checkRoom(size: number, what: string, self?: string): void {
    const { maxSize, quota } = this.options;
    if (maxSize !== null && size > maxSize) {
      throw new PagletError(
        "payload_too_large",
        `${what} of ${size} bytes exceeds the artifact size limit of ${maxSize}`,
      );
    }
    if (quota !== null) {
      let inFlight = 0;
      for (const [id, n] of this.#receiving) if (id !== self) inFlight += n;
      if (this.#used + inFlight + size > quota) {
        throw new PagletError(
          "quota_exceeded",
          `Artifact storage quota of ${quota} bytes would be exceeded (${this.#used} used)`,
        );
      }
    }
  }

  /** Streams `body` into a new artifact; nothing is left behind when it fails. */
  async put(body: ReadableStream<Uint8Array> | null, input: PutInput = {}): Promise<ArtifactMeta> {
    const name = validName(input.name);
    if (input.sha256 !== undefined && !isSha256(input.sha256)) {
      throw new PagletError("bad_request", "x-sha256 must be 64 lowercase hex characters");
    }
    if (input.owner && input.owner.length > 200) {
      throw new PagletError("invalid_request", "Artifact owner is longer than 200 characters");
    }
    if (input.size !== undefined) await this.#room(input.size, "Upload");
    const id = newArtifactId();
    const part = join(this.root, "tmp", `${id}.part`);
    const writer = await HashingFileWriter.create(part);
    this.#receiving.set(id, 0);
    try {
      if (body) {
        for await (const chunk of body) {
          const room = this.#room(writer.size + chunk.length, "Upload", id);
          if (room) await room;
          await writer.write(chunk);
          this.#receiving.set(id, writer.size);
        }
      }
      const size = writer.size;
      const sha256 = await writer.close();
      if (input.size !== undefined && size !== input.size) {
        throw new PagletError("bad_request", `Upload ended after ${size} of ${input.size} declared bytes`);
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
      this.#used += size;
      this.#expiring(meta);
      return meta;
    } catch (err) {
      await writer.abort();
      await Deno.remove(this.#blob(id)).catch(() => {});
      if (err instanceof PagletError || isDiskFull(err)) throw diskFullError(err);
      throw new PagletError("bad_request", `Upload interrupted: ${(err as Error).message}`);
    } finally {
      this.#receiving.delete(id);
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

  /** Deletes artifact `id` (404 if there is none). */
  async delete(id: string): Promise<void> {
    await this.#drop(await this.get(id));
  }

  /** Removes an artifact; false when its metadata was not there to remove (gone already, or stuck). */
  async #drop(meta: ArtifactMeta): Promise<boolean> {
    // Counted once, by whoever removed its metadata (a sweep and a delete may cross).
    const removed = await Deno.remove(this.#meta(meta.id)).then(() => true, () => false);
    await Deno.remove(this.#blob(meta.id)).catch(() => {/* an orphan, swept at the next open */});
    if (removed) this.#used = Math.max(0, this.#used - meta.size);
    return removed;
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
      if (this.#receiving.has(id)) continue;
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
        // An expired artifact that could not be deleted is tried again at the next sweep.
        if (await this.#drop(meta)) removed++;
        else this.#expiring(meta);
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
