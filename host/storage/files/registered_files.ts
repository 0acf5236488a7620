/**
 * Registered files: files a paglet takes along when it is dispatched or cloned. The list lives in
 * the agent's meta (`meta.files`), so it survives deactivation and travels in the envelope; the
 * content travels streamed and checksummed beside it and is in the arriving agent's work dir
 * before `onArrival`/`onClone` runs.
 */
import { basename, dirname, join, relative, resolve } from "../../../agents/paths.ts";
import { PagletError } from "../../../agents/errors.ts";
import type { Host } from "../../host.ts";
import { safeRelativePath } from "../persistent_storage.ts";
import { sha256File } from "./checksum.ts";

/** `copy` leaves the source file in place; `move` deletes it once the paglet has left. */
export type FileMode = "copy" | "move";

/** A file registered by a paglet. */
export interface RegisteredFile {
  /** Name it travels under and has in the work dir on arrival (a safe relative path). */
  name: string;
  mode: FileMode;
  /** Where the file is on the host the paglet is on now. */
  path: string;
  size: number;
  sha256: string;
  /** mtime (ms) when `sha256` was computed: a file changed since is hashed again before it travels. */
  mtimeMs: number | null;
  registeredAt: number;
}

/** Options of `context.registerFile`. */
export interface RegisterOptions {
  /** @default the file's base name */
  name?: string;
  /** @default "copy" */
  mode?: FileMode;
}

/** The registered files listed in an agent's meta. */
export function registeredFiles(meta: Record<string, unknown>): RegisteredFile[] {
  return Array.isArray(meta.files) ? meta.files as RegisteredFile[] : [];
}

/** Validates a registered file's travel name (also on arrival): relative, inside its folder. */
export function validFileName(name: unknown): string {
  const normal = safeRelativePath(name);
  if (normal !== name) {
    throw new PagletError(
      "invalid_request",
      `File name must be in normal form: '${String(name)}' (use '${normal}')`,
    );
  }
  return normal;
}

function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== "" && !rel.startsWith("..") && !rel.startsWith("/");
}

export class RegisteredFiles {
  readonly #host: Host;
  constructor(host: Host) {
    this.#host = host;
  }

  /** The agent's meta while its instance is in a worker (its arrival hook's file calls included). */
  #live(agentId: string): { meta: Record<string, unknown> } {
    const agent = this.#host.runtime.inWorker(agentId);
    if (agent) return agent;
    throw new PagletError("agent_not_found", `Agent ${agentId} is not active on this host`);
  }

  /** Registers `path` (relative paths are inside the agent's work dir) and persists the list. */
  async register(agentId: string, path: string, options: RegisterOptions = {}): Promise<RegisteredFile> {
    const agent = this.#live(agentId);
    if (typeof path !== "string" || path.length === 0) {
      throw new PagletError("invalid_request", "registerFile needs a file path");
    }
    const mode = options.mode ?? "copy";
    if (mode !== "copy" && mode !== "move") {
      throw new PagletError(
        "invalid_request",
        `File mode must be 'copy' or 'move': current value is '${String(mode)}'`,
      );
    }
    const full = resolve(this.#host.workDirs.pathOf(agentId), path);
    const name = validFileName(options.name ?? basename(full));
    let stat: Deno.FileInfo;
    try {
      stat = await Deno.stat(full);
    } catch {
      throw new PagletError("invalid_request", `Cannot register '${path}': no such file`);
    }
    if (!stat.isFile) {
      throw new PagletError("invalid_request", `Cannot register '${path}': not a regular file`);
    }
    const { sha256, size } = await sha256File(full);
    const entry: RegisteredFile = {
      name,
      mode,
      path: full,
      size,
      sha256,
      mtimeMs: stat.mtime?.getTime() ?? null,
      registeredAt: Date.now(),
    };
    const files = registeredFiles(agent.meta).filter((f) => f.name !== name);
    agent.meta.files = [...files, entry];
    await this.#persist(agentId, agent.meta);
    return entry;
  }

  /** Forgets a registered file (the file itself stays). */
  async unregister(agentId: string, name: string): Promise<boolean> {
    const agent = this.#live(agentId);
    const files = registeredFiles(agent.meta);
    const kept = files.filter((f) => f.name !== name);
    if (kept.length === files.length) return false;
    agent.meta.files = kept;
    await this.#persist(agentId, agent.meta);
    return true;
  }

  /** The local path of a registered file, or null when there is none by that name (or it is gone). */
  async filePath(agentId: string, name: string): Promise<string | null> {
    const entry = registeredFiles(this.#live(agentId).meta).find((f) => f.name === name);
    if (!entry) return null;
    try {
      return (await Deno.stat(entry.path)).isFile ? entry.path : null;
    } catch {
      return null;
    }
  }

  async #persist(agentId: string, meta: Record<string, unknown>): Promise<void> {
    // While an arrival starts the agent, the kernel writes its record (with this meta) afterwards.
    if (this.#host.runtime.isLive(agentId)) await this.#host.store.setStatus(agentId, "active", meta);
  }

  /**
   * Checks every registered file before a transfer and hashes again those that changed since they
   * were hashed. A missing file fails the transfer before anything leaves.
   */
  async prepare(meta: Record<string, unknown>): Promise<RegisteredFile[]> {
    const out: RegisteredFile[] = [];
    for (const file of registeredFiles(meta)) {
      let stat: Deno.FileInfo;
      try {
        stat = await Deno.stat(file.path);
      } catch {
        // The paglet's own registration is wrong (not the way to the target): asking again cannot help.
        throw new PagletError(
          "invalid_state",
          `Registered file '${file.name}' is missing at ${file.path}: register it again, or unregister it`,
        );
      }
      const mtimeMs = stat.mtime?.getTime() ?? null;
      if (stat.size === file.size && mtimeMs !== null && mtimeMs === file.mtimeMs) {
        out.push(file);
        continue;
      }
      const { sha256, size } = await sha256File(file.path);
      out.push({ ...file, sha256, size, mtimeMs });
    }
    return out;
  }

  /**
   * Moves spooled arrivals into the agent's work dir (before its arrival hook runs) and returns the
   * entries with their new local paths.
   */
  async materialize(
    agentId: string,
    files: { file: RegisteredFile; spooled: string }[],
  ): Promise<RegisteredFile[]> {
    if (files.length === 0) return [];
    const dir = await this.#host.workDirs.ensure(agentId);
    const out: RegisteredFile[] = [];
    for (const { file, spooled } of files) {
      const dest = join(dir, validFileName(file.name));
      await Deno.mkdir(dirname(dest), { recursive: true });
      try {
        await Deno.rename(spooled, dest);
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) {
          // Moved already by an earlier attempt that did not finish (host restart): keep it.
          if (!(await Deno.stat(dest).catch(() => null))?.isFile) throw err;
        } else {
          await Deno.copyFile(spooled, dest);
          // The spool is cleared when the transfer settles; the copy is in place.
          await Deno.remove(spooled).catch(() => {});
        }
      }
      const stat = await Deno.stat(dest);
      out.push({ ...file, path: dest, mtimeMs: stat.mtime?.getTime() ?? null });
    }
    return out;
  }

  /**
   * After a dispatch was acknowledged: deletes the sources of `move` files. Files inside the
   * agent's work dir go with the work dir.
   */
  async deleteMoved(agentId: string, files: RegisteredFile[]): Promise<void> {
    const workDir = this.#host.workDirs.pathOf(agentId);
    for (const file of files) {
      // A `move` source left behind loses nothing: the file arrived at the target.
      if (file.mode === "move" && !isInside(workDir, file.path)) await Deno.remove(file.path).catch(() => {});
    }
  }
}
