/** Scratch directories of agents: `<data>/work/<agent id>/`, wiped at host start and on dispose. */
import { join } from "node:path";
import { safeSegment } from "./persistent_storage.ts";

export class WorkDirs {
  readonly root: string;
  /**
   * Agents whose directory was created since the host started (the root is wiped at start, and
   * `ensure` is the only way one comes to be): a dispose removes only those, sparing a file system
   * call on every dispose of a paglet that never used its scratch space.
   */
  readonly #created = new Set<string>();

  constructor(root: string) {
    this.root = root;
  }

  /** Removes every scratch directory (host start). */
  async clearAll(): Promise<void> {
    this.#created.clear();
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
    await Deno.mkdir(this.root, { recursive: true });
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
