/**
 * Checkpoints: the state of live agents whose state may have changed is saved to the store, so a
 * crash loses at most the time since the last checkpoint. One checkpoint runs at a time.
 *
 * An agent may have changed when the kernel saw it do something (a context call, a handler of a
 * type whose changes only checkpoints store, run() ending: `dirty`), and when its worker says so:
 * each checkpoint also asks every worker for the states changed outside handlers (run() under way,
 * notifyStateChanged()), which the worker compares with what the kernel has.
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
  /** The live agents now, by id (one may leave while its snapshot travels). */
  readonly #live: ReadonlyMap<string, LiveAgent>;
  #running: Promise<number> | null = null;

  constructor(commits: StateCommits, deadlines: DeadlineQueue, live: ReadonlyMap<string, LiveAgent>) {
    this.#commits = commits;
    this.#deadlines = deadlines;
    this.#live = live;
  }

  #current(agent: LiveAgent): boolean {
    return this.#live.get(agent.id) === agent;
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
    const live = [...this.#live.values()];
    // Asked first: a dirty agent's snapshot below then stores the same state again at most. Settled
    // at once: a write that fails (a full disk) while the snapshots below are under way must not be
    // a rejection that nothing handles yet (it would end the host process).
    const changed = Promise.allSettled(all ? [] : this.#changedStates(live));
    const agents = live.filter((a) => all || a.dirty);
    let saved = 0;
    let failure: unknown = null;
    // In chunks, with a turn of the event loop between them: thousands of snapshot requests
    // and replies at once would hold up the kernel thread (measured: 120 ms for 5,000 agents).
    for (let i = 0; i < agents.length; i += CHUNK) {
      if (i > 0) await sleep(0);
      await Promise.all(
        agents.slice(i, i + CHUNK).map(async (agent) => {
          if (this.#held(agent)) return;
          agent.dirty = false;
          let written: Promise<void>;
          try {
            const state = await this.#snapshot(agent);
            // Half-way through a handler, whose reply stores the state: the next checkpoint looks again.
            if (state === null) {
              agent.dirty = true;
              return;
            }
            // An agent that left: its departure stored the state it ended with. One that began a
            // transition since it was asked gets this state stored all the same (the worker takes it
            // as stored): the transition's own write comes after it, and a record that is no longer
            // active is not written over (AgentStore.saveState).
            if (!this.#current(agent)) return;
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
    for (const written of await changed) {
      if (written.status === "fulfilled") saved += written.value;
      else failure ??= written.reason;
    }
    if (failure) throw failure;
    return saved;
  }

  /**
   * Stores the state `agent` has now and resolves once it is on disk: for work that must not start
   * before the state that records it is stored (a compute step: a paglet brought back by a crash
   * or a new worker then knows it had started it). Not a state that is another write's to store
   * ({@link #held}, or a handler of the agent half-way): that write stores it when it ends (one
   * asked for already, such as a handler's whose reply came, is waited for). A snapshot or write
   * that fails rejects (the state is not plain data; the disk is full), and so does a worker that
   * does not answer within the checkpoints' bound (`timeout`: busy with another paglet's work).
   */
  async storeNow(agent: LiveAgent): Promise<void> {
    if (this.#held(agent)) return await agent.lastWrite?.catch(() => {});
    const state = await this.#snapshot(agent);
    if (state !== null) await this.#store(agent, state);
  }

  /** The agent's state from its worker (null: half-way through a handler), within the checkpoints' bound. */
  #snapshot(agent: LiveAgent) {
    return this.#deadlines.race(agent.slot.rpc.call("checkpointSnapshot", [agent.id]), SNAPSHOT_TIMEOUT_MS);
  }

  /**
   * Whether the agent's state cannot be stored now, so that its worker must not take it as stored:
   * half-way through a stored message's handler (its own write stores the state it leaves, with the
   * message's removal; saved now, the state would be the base that the message is handled again on
   * after a crash), or in a transition (deactivate, dispose, departure), which stores the state it
   * ends with (and when it fails, the next checkpoint does). The agent stays dirty.
   */
  #held(agent: LiveAgent): boolean {
    return (agent.storedInFlight > 0 && !agent.checkpointDurable) || agent.transition !== null;
  }

  /**
   * Asks each worker of `live` for the states it says changed outside handlers, and stores them;
   * each promise resolves with how many were stored. A worker that answers late still has its
   * states stored (it took them as stored when it answered), by the commit after its answer.
   */
  #changedStates(live: LiveAgent[]): Promise<number>[] {
    const bySlot = new Map<LiveAgent["slot"], Map<string, LiveAgent>>();
    for (const agent of live) {
      if (agent.slot.ended) continue;
      const agents = bySlot.get(agent.slot) ?? new Map<string, LiveAgent>();
      agents.set(agent.id, agent);
      bySlot.set(agent.slot, agents);
    }
    return [...bySlot].map(async ([slot, agents]) => {
      const held = [...agents.values()].filter((agent) => this.#held(agent)).map((agent) => agent.id);
      const answer = slot.rpc.call("changedStates", [held]);
      const store = (states: [string, Uint8Array][]) =>
        Promise.all(states.map(([id, state]) => this.#store(agents.get(id), state)));
      let states: [string, Uint8Array][];
      try {
        states = await this.#deadlines.race(answer, SNAPSHOT_TIMEOUT_MS);
      } catch {
        // Busy (or gone): its answer is stored when it comes, without holding this checkpoint up.
        answer.then(store).catch(() => {});
        return 0;
      }
      return (await store(states)).filter(Boolean).length;
    });
  }

  /**
   * Stores a state the worker of `agent` reported changed (it took it as stored); true when it did.
   * Asked while the agent could be stored ({@link #held}): it is, unless that instance has left (its
   * departure stored the state it ended with). A write that fails leaves the agent dirty, and the
   * next checkpoint takes its snapshot.
   */
  async #store(agent: LiveAgent | undefined, state: Uint8Array): Promise<boolean> {
    if (!agent || !this.#current(agent)) return false;
    try {
      await this.#commits.save({ id: agent.id, state });
      return true;
    } catch (err) {
      agent.dirty = true;
      throw err;
    }
  }
}
