/**
 * Scratch directories of agents: `<data>/work/<agent id>/`. They last as long as their agent on this
 * host, across host restarts (an inactive paglet's registered files are in it), and go on dispose or
 * departure; a directory whose agent is gone is removed when the host starts.
 */
import { join } from "../../agents/paths.ts";
import { safeSegment } from "./persistent_storage.ts";

export class WorkDirs {
  readonly root: string;
  /**
   * Agents that have a directory (kept at start, or made by `ensure`): a dispose removes only those,
   * sparing a file system call on every dispose of a paglet that never used its scratch space.
   */
  readonly #created = new Set<string>();

  constructor(root: string) {
    this.root = root;
  }

  /**
   * Host start: keeps the directories of the agents this host still has (`agentIds`, any status) and
   * removes every other entry, left by agents that were disposed or left while the host went down.
   */
  async prune(agentIds: Iterable<string>): Promise<void> {
    this.#created.clear();
    await Deno.mkdir(this.root, { recursive: true });
    const bySegment = new Map<string, string>();
    for (const id of agentIds) bySegment.set(safeSegment(id), id);
    for await (const entry of Deno.readDir(this.root)) {
      const id = bySegment.get(entry.name);
      if (id !== undefined && entry.isDirectory) this.#created.add(id);
      // A scratch dir left behind is removed at the next start; it holds nothing durable.
      else await Deno.remove(join(this.root, entry.name), { recursive: true }).catch(() => {});
    }
  }

  pathOf(agentId: string): string {
    return join(this.root, safeSegment(agentId));
  }

  async ensure(agentId: string): Promise<string> {
    const dir = this.pathOf(agentId);
    this.#created.add(agentId);
    await Deno.mkdir(dir, { recursive: true });
    return dir;
  }

  async remove(agentId: string): Promise<void> {
    if (!this.#created.delete(agentId)) return;
    await Deno.remove(this.pathOf(agentId), { recursive: true }).catch(() => {});
  }
}
