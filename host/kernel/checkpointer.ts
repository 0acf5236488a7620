/**
 * Checkpoints: the state of live agents whose state may have changed is saved to the store, so a
 * crash loses at most the time since the last checkpoint. One checkpoint runs at a time.
 */
import { PagletError } from "../../agents/errors.ts";
import type { LiveAgent } from "./live_agent.ts";
import type { DeadlineQueue } from "./timeouts.ts";
import type { StateCommits } from "./state_commits.ts";
import { sleep } from "../../agents/timers.ts";

/** Agents snapshotted per turn of the event loop during a checkpoint. */
const CHUNK = 200;

/** How long a snapshot may take before the agent's worker counts as busy (the agent stays dirty). */
const SNAPSHOT_TIMEOUT_MS = 1000;

export class Checkpointer {
  readonly #commits: StateCommits;
  readonly #deadlines: DeadlineQueue;
  /** The live agents now, and whether one still is (it may leave while its snapshot travels). */
  readonly #agents: () => Iterable<LiveAgent>;
  readonly #current: (agent: LiveAgent) => boolean;
  #running: Promise<number> | null = null;

  constructor(
    commits: StateCommits,
    deadlines: DeadlineQueue,
    agents: () => Iterable<LiveAgent>,
    current: (agent: LiveAgent) => boolean,
  ) {
    this.#commits = commits;
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
    let failure: unknown = null;
    // In chunks, with a turn of the event loop between them: thousands of snapshot requests
    // and replies at once would hold up the kernel thread (measured: 120 ms for 5,000 agents).
    for (let i = 0; i < agents.length; i += CHUNK) {
      if (i > 0) await sleep(0);
      await Promise.all(
        agents.slice(i, i + CHUNK).map(async (agent) => {
          // Half-way through a stored message's handler: its own write stores the state it leaves,
          // with the message's removal. Saved now, the state would be the base that the message is
          // handled again on after a crash; the agent stays dirty for the next checkpoint.
          if (agent.storedInFlight > 0 && !agent.checkpointDurable) return;
          agent.dirty = false;
          let written: Promise<void>;
          try {
            const state = await this.#deadlines.race(
              agent.slot.rpc.call("snapshot", [agent.id, true]),
              SNAPSHOT_TIMEOUT_MS,
            );
            // An agent that left, or is in a transition (deactivate, dispose, departure): that
            // transition stores the state it ends with.
            if (!this.#current(agent) || agent.transition !== null) return;
            // Asked for the moment the snapshot arrives: in order with the writes of the agent's replies.
            written = this.#commits.save({ id: agent.id, state });
          } catch (err) {
            // A busy worker: the next checkpoint tries again (an agent that left or whose state is not
            // plain data has nothing to save).
            if (PagletError.from(err).code === "timeout") agent.dirty = true;
            return;
          }
          try {
            await written;
            saved++;
          } catch (err) {
            agent.dirty = true;
            failure = err;
          }
        }),
      );
    }
    if (failure) throw failure;
    return saved;
  }
}
