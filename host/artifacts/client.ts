/**
 * Client of the artifact routes: streamed uploads and verified downloads (to a temp file next to
 * the destination, renamed into place only after size and SHA-256 match).
 *
 * @example
 * ```ts
 * const artifacts = new ArtifactClient(new HostClient("http://127.0.0.1:8765"));
 * const ref = await artifacts.upload("results.sqlite", { owner: "me" });
 * await artifacts.download(ref.id, "/tmp/results.sqlite", { move: true });
 * ```
 */
import { basename, dirname, join } from "../../agents/paths.ts";
import type { ArtifactRef } from "../../agents/artifacts.ts";
import { PagletError } from "../../agents/errors.ts";
import type { HostClient } from "../client.ts";
import { HashingFileWriter, sha256File } from "../storage/files/checksum.ts";
import { artifactId, type ArtifactMeta } from "./store.ts";
import { StallWatch } from "../stall_watch.ts";

/** Metadata plus the URL of the host that holds it: usable as an {@link ArtifactRef}. */
export type HostedArtifact = ArtifactMeta & { hostUrl: string };

/** Bytes moved so far, of `total` (null when the host did not say). */
export type TransferProgress = (done: number, total: number | null) => void;

export interface UploadOptions {
  /** Name to store it under. @default the file's name */
  name?: string;
  /** Owner to record (an agent id or a user). @default none */
  owner?: string | null;
  /** Seconds until the host deletes it. @default kept until deleted */
  ttlSeconds?: number;
  /** Hears of every chunk taken from the file. */
  onProgress?: TransferProgress;
  /**
   * Give up when no byte moved (and no answer came) for this long: a positive number of
   * milliseconds (0 or less is `invalid_request`: there is no unlimited pause). @default 60000
   */
  stallMs?: number;
}

export interface DownloadOptions {
  /** Delete the hosted artifact after the verified download. @default false */
  move?: boolean;
  /** SHA-256 the download must have (checked besides the host's own). */
  expectSha256?: string;
  /** Hears of every chunk received. */
  onProgress?: TransferProgress;
  /** Ends the download: it fails, its `.part` file removed. */
  signal?: AbortSignal;
  /**
   * Give up when no byte arrived for this long (the `.part` file removed): a positive number of
   * milliseconds (0 or less is `invalid_request`). @default 60000
   */
  stallMs?: number;
}

export class ArtifactClient {
  readonly #client: HostClient;

  constructor(client: HostClient) {
    this.#client = client;
  }

  /** Uploads a file, streamed with its length (hashed first, so the host verifies what it received). */
  async upload(path: string, options: UploadOptions = {}): Promise<HostedArtifact> {
    const stallMs = stallLimit(options.stallMs);
    const { sha256, size } = await sha256File(path);
    const file = await Deno.open(path, { read: true });
    const q = new URLSearchParams({ name: options.name ?? basename(path) });
    if (options.owner) q.set("owner", options.owner);
    if (options.ttlSeconds !== undefined) q.set("ttl", String(options.ttlSeconds));
    const onProgress = options.onProgress;
    const stall = new StallWatch(stallMs);
    let sent = 0;
    const body = file.readable.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, out) {
          sent += chunk.length;
          stall.progress();
          onProgress?.(sent, size);
          out.enqueue(chunk);
        },
      }),
    );
    try {
      // No limit on the whole upload, which grows with the file and the link: only a pause past
      // the stall limit ends it (the host answers once it has all of it).
      const res = await this.#client.fetch("PUT", `/v1/artifacts?${q}`, {
        body,
        length: size,
        headers: { "content-type": "application/octet-stream", "x-sha256": sha256, "x-size": String(size) },
        signal: stall.signal,
        signalOnly: true,
      });
      return await res.json() as HostedArtifact;
    } catch (err) {
      throw givenUp(stall, stallMs, `Upload of ${path}`, err);
    } finally {
      stall.stop();
      try {
        file.close();
      } catch { /* closed by its stream */ }
    }
  }

  async list(owner?: string): Promise<HostedArtifact[]> {
    const q = owner ? `?owner=${encodeURIComponent(owner)}` : "";
    return (await this.#client.request<{ artifacts: HostedArtifact[] }>("GET", `/v1/artifacts${q}`))
      .artifacts;
  }

  info(id: string): Promise<HostedArtifact> {
    return this.#client.request<HostedArtifact>("GET", `/v1/artifacts/${artifactId(id)}/info`);
  }

  async delete(id: string): Promise<void> {
    await this.#client.request("DELETE", `/v1/artifacts/${artifactId(id)}`);
  }

  /**
   * Downloads artifact `id` to `dest`: into the folder `dest` under the artifact's name when `dest`
   * is a folder or ends in `/` (a missing one is created), else to the file `dest`, whose folder
   * must exist. A destination that cannot be written is `invalid_request`, checked before the
   * download where it can be. The bytes go to a `.part` file next to the destination, renamed
   * into place once verified against the host's SHA-256 header (and `expectSha256` when given);
   * the `.part` file is removed whenever the download fails.
   */
  async download(
    id: string,
    dest: string,
    options: DownloadOptions = {},
  ): Promise<{ path: string; size: number; sha256: string }> {
    const stallMs = stallLimit(options.stallMs);
    const target = await destination(dest);
    // No limit on the whole download either: a pause past the stall limit ends it, or the caller.
    const stall = new StallWatch(stallMs);
    const signal = options.signal ? AbortSignal.any([options.signal, stall.signal]) : stall.signal;
    try {
      return await this.#download(id, dest, target, options, stallMs, signal, stall);
    } catch (err) {
      throw givenUp(stall, stallMs, `Download of artifact ${id}`, err);
    } finally {
      stall.stop();
    }
  }

  async #download(
    id: string,
    dest: string,
    target: { folder: string | null; create: boolean },
    options: DownloadOptions,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    stall: StallWatch,
  ): Promise<{ path: string; size: number; sha256: string }> {
    // The watch bounds the wait for the answer's head too, as it does an upload's: a timer of its
    // own would count time the process was suspended.
    const res = await this.#client.fetch("GET", `/v1/artifacts/${artifactId(id)}`, {
      timeoutMs,
      signal,
      signalOnly: true,
    });
    stall.progress();
    const expected = options.expectSha256 ?? res.headers.get("x-sha256") ?? undefined;
    const declared = Number(res.headers.get("content-length") ?? NaN);
    const total = Number.isFinite(declared) ? declared : null;
    let path: string;
    let writer: HashingFileWriter;
    try {
      path = target.folder === null ? dest : join(target.folder, artifactName(res.headers, id));
      if (target.create) await makeFolder(dest);
      const part = join(dirname(path), `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.part`);
      writer = await HashingFileWriter.create(part).catch((err) => {
        throw cannotWrite(path, err);
      });
    } catch (err) {
      await res.body?.cancel().catch(() => {});
      throw err;
    }
    let sha256: string;
    try {
      if (res.body) {
        for await (const chunk of res.body) {
          stall.progress();
          await writer.write(chunk);
          options.onProgress?.(writer.size, total);
        }
      }
      sha256 = await writer.close();
    } catch (err) {
      // abort() removes the .part file.
      await writer.abort();
      throw new PagletError(
        "transfer_failed",
        `Download of artifact ${id} was interrupted: ${(err as Error).message}`,
      );
    }
    try {
      if ((total !== null && writer.size !== total) || (expected && sha256 !== expected)) {
        throw new PagletError(
          "checksum_mismatch",
          `Download of artifact ${id} does not match: ${writer.size} bytes, SHA-256 ${sha256}, expected ${expected}`,
        );
      }
      await Deno.rename(writer.path, path).catch((err) => {
        throw cannotWrite(path, err);
      });
    } catch (err) {
      // A .part file left behind would never be read, but it would be clutter.
      await Deno.remove(writer.path).catch(() => {});
      throw err;
    }
    if (options.move) await this.#claim(id, path);
    return { path, size: writer.size, sha256 };
  }

  /** Deletes the hosted copy of a download with `move`: only one of downloads that cross does. */
  async #claim(id: string, path: string): Promise<void> {
    try {
      await this.delete(id);
    } catch (err) {
      if (!(err instanceof PagletError && err.code === "artifact_not_found")) throw err;
      throw new PagletError(
        "artifact_not_found",
        `Artifact ${id} was downloaded to ${path}, but another client deleted the hosted copy first: ` +
          `this download did not move it (the file stays)`,
      );
    }
  }
}

/**
 * Where a download goes: `folder` (the artifact goes in under its name; `create` when `dest`
 * names a folder that is not there yet), or `folder: null` for the file `dest` itself.
 */
async function destination(dest: string): Promise<{ folder: string | null; create: boolean }> {
  const stat = await statOf(dest.replace(/(.)\/+$/, "$1"));
  if (stat?.isDirectory) return { folder: dest, create: false };
  if (dest.endsWith("/")) {
    if (stat) {
      throw new PagletError("invalid_request", `Cannot download into ${dest}: it is a file, not a folder`);
    }
    return { folder: dest, create: true };
  }
  const parent = dirname(dest);
  const parentStat = await statOf(parent);
  if (!parentStat) {
    throw new PagletError(
      "invalid_request",
      `Cannot download to ${dest}: there is no folder ${parent} (end the destination with / to have it created)`,
    );
  }
  if (!parentStat.isDirectory) {
    throw new PagletError("invalid_request", `Cannot download to ${dest}: ${parent} is not a folder`);
  }
  return { folder: null, create: false };
}

async function statOf(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return null;
    throw cannotWrite(path, err);
  }
}

async function makeFolder(folder: string): Promise<void> {
  try {
    await Deno.mkdir(folder, { recursive: true });
  } catch (err) {
    throw new PagletError("invalid_request", `Cannot create the folder ${folder}: ${reason(err)}`);
  }
}

/** The artifact's name as the host gives it, if it is a plain file name; else its id. */
function artifactName(headers: Headers, id: string): string {
  try {
    const name = decodeURIComponent(headers.get("x-artifact-name") ?? id);
    // A name is a file name (store.ts checks it): a host that sends a path gets no say in where.
    return name && name !== "." && name !== ".." && !/[/\\]/.test(name) && !name.includes("\0") ? name : id;
  } catch {
    return id;
  }
}

function cannotWrite(path: string, err: unknown): PagletError {
  return new PagletError("invalid_request", `Cannot write ${path}: ${reason(err)}`);
}

function reason(err: unknown): string {
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.IsADirectory) return "it is a folder";
  if (err instanceof Deno.errors.NotADirectory) return "a part of the path is not a folder";
  return (err as Error).message;
}

/** The reference a paglet keeps for a hosted artifact. */
export function toRef(a: HostedArtifact): ArtifactRef {
  return { hostUrl: a.hostUrl, id: a.id, name: a.name, size: a.size, sha256: a.sha256 };
}

/**
 * How long an upload or a download may pause (no byte moved, no answer) when its caller names no
 * limit. Neither has a limit on its whole length, which grows with the file and the link.
 */
export const DEFAULT_STALL_MS = 60_000;

/**
 * The stall limit a caller named, or the default: a positive number of milliseconds, else
 * `invalid_request` naming it (a transfer that may pause for ever would hang on a host that stopped).
 */
function stallLimit(stallMs: number | undefined): number {
  if (stallMs === undefined) return DEFAULT_STALL_MS;
  if (!(Number.isFinite(stallMs) && stallMs > 0)) {
    throw new PagletError(
      "invalid_request",
      `'stallMs' must be a positive number of milliseconds, the longest pause of the transfer: got ${stallMs}`,
    );
  }
  return stallMs;
}

/** What a transfer that failed throws: a `timeout` when its watch saw it pause past the limit. */
function givenUp(stall: StallWatch, ms: number, what: string, err: unknown): unknown {
  return stall.stalled
    ? new PagletError("timeout", `${what} moved no byte for ${ms / 1000} s: given up`)
    : err;
}
