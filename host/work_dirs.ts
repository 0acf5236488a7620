/** Scratch directories of agents: `<data>/work/<agent id>/`, wiped at host start and on dispose. */
import { join } from "node:path";
import { safeSegment } from "./persistent_storage.ts";

export class WorkDirs {
  readonly root: string;
  constructor(root: string) {
    this.root = root;
  }

  /** Removes every scratch directory (host start). */
  async clearAll(): Promise<void> {
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
    await Deno.mkdir(this.root, { recursive: true });
  }

  pathOf(agentId: string): string {
    return join(this.root, safeSegment(agentId));
  }

  async ensure(agentId: string): Promise<string> {
    const dir = this.pathOf(agentId);
    await Deno.mkdir(dir, { recursive: true });
    return dir;
  }

  async remove(agentId: string): Promise<void> {
    await Deno.remove(this.pathOf(agentId), { recursive: true }).catch(() => {});
  }
}
