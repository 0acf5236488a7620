/**
 * Artifacts as a host extension: the store under `<dataDir>/artifacts/`, its routes, a sweeper
 * for stale uploads and expired artifacts, and the context operations `uploadArtifact`,
 * `downloadArtifact` and `deleteArtifact` (local store, or another host over HTTP).
 *
 * @example
 * ```ts
 * import { Host } from "../host.ts";
 * import { artifactsExtension } from "./mod.ts";
 * const host = await Host.start({ name: "a", port: 0 }, [artifactsExtension()]);
 * ```
 */
import { basename, dirname, join, resolve } from "../../agents/paths.ts";
import type { Hono } from "hono";
import type { ArtifactRef } from "../../agents/artifacts.ts";
import { isArtifactRef } from "../../agents/artifacts.ts";
import { PagletError } from "../../agents/errors.ts";
import { HostClient, normalizeUrl } from "../client.ts";
import type { Host, HostExtension } from "../host.ts";
import { HashingFileWriter } from "../storage/files/checksum.ts";
import { ArtifactClient, toRef } from "./client.ts";
import { artifactRoutes } from "./routes.ts";
import { ArtifactStore } from "./store.ts";
import { cancel, every, type Timer } from "../../agents/timers.ts";
import { arrivingBody } from "../arriving_body.ts";

export { ArtifactClient, toRef } from "./client.ts";
export type { HostedArtifact } from "./client.ts";
export { artifactId, ArtifactStore } from "./store.ts";
export type { ArtifactMeta, ArtifactStoreOptions } from "./store.ts";

/** The artifacts extension; its store exists once the host has started. */
export class ArtifactsExtension implements HostExtension {
  readonly name = "artifacts";
  store!: ArtifactStore;
  #sweeper: Timer | undefined;

  routes(app: Hono, host: Host): void {
    artifactRoutes(app, host, () => this.store);
  }

  async start(host: Host): Promise<void> {
    const o = host.options;
    const store = this.store = new ArtifactStore(join(o.dataDir, "artifacts"), {
      maxSize: o.artifactMaxSize,
      quota: o.artifactStorageQuota,
      spoolTtlMs: o.artifactSpoolTtlS * 1000,
    });
    await store.open();
    // Sweeping expired spool files again at the next tick; nothing durable is lost.
    await store.sweep().catch(() => {});
    const sweepMs = Math.max(1000, Math.min(o.artifactSpoolTtlS * 1000, 300_000));
    // A failed sweep is retried at the next tick; it only removes expired files.
    this.#sweeper = every(sweepMs, () => void store.sweep().catch(() => {}), { ref: false });
    registerArtifactOps(host, store);
  }

  stop(): void {
    cancel(this.#sweeper);
  }
}

/** Creates the artifacts extension (one per host). */
export function artifactsExtension(): ArtifactsExtension {
  return new ArtifactsExtension();
}

function registerArtifactOps(host: Host, store: ArtifactStore): void {
  const isSelf = (url: string | undefined) => !url || url === host.name || normalizeUrl(url) === host.url;
  const remote = (url: string) =>
    new ArtifactClient(
      new HostClient(host.remote?.resolve(url) ?? url, { apiKey: host.options.apiKey, peer: true }),
    );
  const localPath = async (agentId: string, path: string) =>
    resolve(await host.workDirs.ensure(agentId), path);
  const checkRef = (ref: unknown): ArtifactRef => {
    if (!isArtifactRef(ref)) {
      throw new PagletError("invalid_request", "Expected an ArtifactRef {hostUrl, id, name, size, sha256}");
    }
    return ref;
  };

  host.ops.registerAll({
    uploadArtifact: async (
      from: string,
      path: string,
      options: { name?: string; host?: string; owner?: string } = {},
    ) => {
      const file = await localPath(from, path);
      const name = options.name ?? basename(file);
      const owner = options.owner ?? from;
      if (!isSelf(options.host)) return toRef(await remote(options.host!).upload(file, { name, owner }));
      const source = await Deno.open(file, { read: true }).catch(() => {
        throw new PagletError("invalid_request", `Cannot upload '${path}': no such file`);
      });
      try {
        // Its size is declared, so that the store reserves it before it reads a byte.
        const stat = await source.stat();
        // A file that stops giving bytes (a FIFO, a hung mount) is given up as an upload would be.
        const limitMs = host.options.idleTimeoutMs;
        const body = arrivingBody(source.readable, { limitMs, what: "Upload" });
        const meta = await store.put(body, {
          name,
          owner,
          size: stat.isFile ? stat.size : undefined,
        });
        return toRef({ ...meta, hostUrl: host.url });
      } finally {
        try {
          source.close();
        } catch { /* closed by its stream */ }
      }
    },
    downloadArtifact: async (
      from: string,
      refInput: unknown,
      options: { path?: string; move?: boolean } = {},
    ) => {
      const ref = checkRef(refInput);
      const dest = await localPath(from, options.path ?? ref.name);
      if (!isSelf(ref.hostUrl)) {
        return (await remote(ref.hostUrl).download(ref.id, dest, {
          move: options.move,
          expectSha256: ref.sha256,
        })).path;
      }
      const { meta, file } = await store.openBlob(ref.id);
      // Written next to the destination, renamed into place once verified; removed on any failure.
      const part = `${dest}.${crypto.randomUUID().slice(0, 8)}.part`;
      let writer: HashingFileWriter | undefined;
      try {
        await Deno.mkdir(dirname(dest), { recursive: true });
        writer = await HashingFileWriter.create(part);
        for await (const chunk of file.readable) await writer.write(chunk);
        const sha256 = await writer.close();
        if (sha256 !== ref.sha256 || sha256 !== meta.sha256) {
          throw new PagletError(
            "checksum_mismatch",
            `Artifact ${ref.id} has SHA-256 ${sha256}, expected ${ref.sha256}`,
          );
        }
        await Deno.rename(part, dest);
      } catch (err) {
        // abort() removes the .part file (a closed writer's too).
        if (writer) await writer.abort();
        else file.close();
        throw err;
      }
      if (options.move) await store.delete(ref.id);
      return dest;
    },
    deleteArtifact: async (_from: string, refInput: unknown) => {
      const ref = checkRef(refInput);
      if (isSelf(ref.hostUrl)) await store.delete(ref.id);
      else await remote(ref.hostUrl).delete(ref.id);
    },
  });
}
