/**
 * Checkpoints: the state of live agents whose state may have changed is saved to the store, so a
 * crash loses at most the time since the last checkpoint. One checkpoint runs at a time.
 */
import { PagletError } from "../../agents/errors.ts";
import type { AgentStore } from "../storage/agent_store.ts";
import type { LiveAgent } from "./agent_runtime.ts";
import type { DeadlineQueue } from "./timeouts.ts";

/** Agents snapshotted per turn of the event loop during a checkpoint. */
const CHUNK = 200;

/** How long a snapshot may take before the agent's worker counts as busy (the agent stays dirty). */
const SNAPSHOT_TIMEOUT_MS = 1000;

export class Checkpointer {
  readonly #store: AgentStore;
  readonly #deadlines: DeadlineQueue;
  /** The live agents now, and whether one still is (it may leave while its snapshot travels). */
  readonly #agents: () => Iterable<LiveAgent>;
  readonly #current: (agent: LiveAgent) => boolean;
  #running: Promise<number> | null = null;

  constructor(
    store: AgentStore,
    deadlines: DeadlineQueue,
    agents: () => Iterable<LiveAgent>,
    current: (agent: LiveAgent) => boolean,
  ) {
    this.#store = store;
    this.#deadlines = deadlines;
    this.#agents = agents;
    this.#current = current;
  }

  /**
   * Saves the state of agents whose state may have changed (`all`: of every live agent); resolves
   * with how many were saved. A tick while a checkpoint is under way is skipped; `all` waits for it.
   */
  async run(all = false): Promise<number> {
    if (this.#running) {
      if (!all) return 0;
      // Its failure was reported to whoever started it; this one starts afresh.
      await this.#running.catch(() => {});
    }
    const run = this.#once(all);
    this.#running = run;
    try {
      return await run;
    } finally {
      if (this.#running === run) this.#running = null;
    }
  }

  async #once(all: boolean): Promise<number> {
    const agents = [...this.#agents()].filter((a) => all || a.dirty);
    let saved = 0;
    // In chunks, with a turn of the event loop between them: thousands of snapshot requests
    // and replies at once would hold up the kernel thread (measured: 120 ms for 5,000 agents).
    for (let i = 0; i < agents.length; i += CHUNK) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 0));
      const states: { agent: LiveAgent; state: Uint8Array }[] = [];
      const chunk = agents.slice(i, i + CHUNK);
      await Promise.all(chunk.map(async (agent) => {
        agent.dirty = false;
        const snap = await this.#deadlines.race(
          agent.slot.rpc.call("snapshot", [agent.id]),
          SNAPSHOT_TIMEOUT_MS,
        )
          .then((state) => ({ state }), (err) => PagletError.from(err));
        if ("state" in snap) {
          states.push({ agent, state: snap.state });
        } else if (snap.code === "timeout") agent.dirty = true; // busy worker: try again next time
      }));
      try {
        await this.#store.transaction((tx) => {
          // Checked in the same synchronous step as the write: an agent that left, or is in a
          // transition (deactivate, dispose, departure), since its snapshot keeps the record that
          // transition writes; a snapshot from before it must not overwrite it.
          for (const { agent, state } of states) {
            if (!this.#current(agent) || agent.transition !== null) continue;
            tx.saveState(agent.id, state);
            saved++;
          }
        });
      } catch (err) {
        // Not saved: the next checkpoint tries these agents again.
        for (const agent of chunk) agent.dirty = true;
        throw err;
      }
    }
    return saved;
  }
}
