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

/** Metadata plus the URL of the host that holds it: usable as an {@link ArtifactRef}. */
export type HostedArtifact = ArtifactMeta & { hostUrl: string };

export class ArtifactClient {
  readonly #client: HostClient;

  constructor(client: HostClient) {
    this.#client = client;
  }

  /** Uploads a file (hashed first, so the host verifies what it received). */
  async upload(
    path: string,
    options: { name?: string; owner?: string | null; ttlSeconds?: number } = {},
  ): Promise<HostedArtifact> {
    const { sha256, size } = await sha256File(path);
    const file = await Deno.open(path, { read: true });
    const q = new URLSearchParams({ name: options.name ?? basename(path) });
    if (options.owner) q.set("owner", options.owner);
    if (options.ttlSeconds !== undefined) q.set("ttl", String(options.ttlSeconds));
    try {
      const res = await this.#client.fetch("PUT", `/v1/artifacts?${q}`, {
        body: file.readable,
        headers: { "content-type": "application/octet-stream", "x-sha256": sha256, "x-size": String(size) },
        timeoutMs: 60_000 + Math.ceil(size / (10 * 1024 * 1024)) * 1000,
      });
      return await res.json() as HostedArtifact;
    } finally {
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
   * Downloads artifact `id` to `dest` (a folder → its name inside it). Verified against the host's
   * SHA-256 header (and `expectSha256` when given); with `move` the hosted artifact is deleted
   * after the verified download.
   */
  async download(
    id: string,
    dest: string,
    options: { move?: boolean; expectSha256?: string } = {},
  ): Promise<{ path: string; size: number; sha256: string }> {
    const res = await this.#client.fetch("GET", `/v1/artifacts/${artifactId(id)}`, { timeoutMs: 3600_000 });
    const expected = options.expectSha256 ?? res.headers.get("x-sha256") ?? undefined;
    const declared = Number(res.headers.get("content-length") ?? NaN);
    const name = decodeURIComponent(res.headers.get("x-artifact-name") ?? id);
    const isDir = (await Deno.stat(dest).catch(() => null))?.isDirectory ?? false;
    const path = isDir ? join(dest, name) : dest;
    const part = join(dirname(path), `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.part`);
    const writer = await HashingFileWriter.create(part);
    let sha256: string;
    try {
      if (res.body) { for await (const chunk of res.body) await writer.write(chunk); }
      sha256 = await writer.close();
    } catch (err) {
      await writer.abort();
      throw new PagletError(
        "transfer_failed",
        `Download of artifact ${id} was interrupted: ${(err as Error).message}`,
      );
    }
    if ((Number.isFinite(declared) && writer.size !== declared) || (expected && sha256 !== expected)) {
      // A partial download left behind is never read (its name ends in .part).
      await Deno.remove(part).catch(() => {});
      throw new PagletError(
        "checksum_mismatch",
        `Download of artifact ${id} does not match: ${writer.size} bytes, SHA-256 ${sha256}, expected ${expected}`,
      );
    }
    await Deno.rename(part, path);
    if (options.move) await this.delete(id);
    return { path, size: writer.size, sha256 };
  }
}

/** The reference a paglet keeps for a hosted artifact. */
export function toRef(a: HostedArtifact): ArtifactRef {
  return { hostUrl: a.hostUrl, id: a.id, name: a.name, size: a.size, sha256: a.sha256 };
}
