/**
 * A live agent as the kernel keeps it: its worker, its mailbox, and where its durable writes stand.
 * The runtime (agent_runtime.ts) owns the table of them; the modules beside it get them passed.
 */
import type { Mailbox } from "./mailbox.ts";
import type { WorkerSlot } from "./worker_pool.ts";

/**
 * What a live agent's transition is: a way out of its worker (waiting for its handlers in progress,
 * then running), or `restore`, its worker being replaced (it comes back from its last checkpoint).
 */
export type TransitionKind = "deactivate" | "dispose" | "detach" | "restore";

/** An agent running in a worker. */
export interface LiveAgent {
  id: string;
  type: string;
  slot: WorkerSlot;
  generation: number;
  mailbox: Mailbox;
  createdAt: number;
  meta: Record<string, unknown>;
  /** State may have changed since the last checkpoint. */
  dirty: boolean;
  /** A lifecycle transition is under way; new messages wait for its outcome. */
  transition: Promise<void> | null;
  /** Which transition `transition` is (GET /v1/agents/:id shows it). */
  transitionKind: TransitionKind | null;
  /** Settles once the record that made this instance live is durable (create, activation). */
  durable: Promise<unknown>;
  /**
   * Bumped when a state this agent's handlers left could not be stored: replies of handlers that
   * ran before the state was restored fail too (they built on the lost change).
   */
  epoch: number;
  /** Why the last write failed (what the replies built on it fail with). */
  writeFailure?: unknown;
  /**
   * The last write asked for, until it settles (writes settle in order): replies of later handlers
   * that wrote nothing wait for it.
   */
  lastWrite: Promise<void> | null;
  /** The highest `seq` of the stored messages already in the mailbox (they leave the store one by one, with their effect). */
  handedSeq: number;
  /**
   * Stored messages handed to the worker whose handler's effect is not stored yet. Checkpoints wait
   * for none to be left: a state saved half-way through such a handler would be the state that the
   * message, still stored, is handled again on after a crash (its effect twice).
   */
  storedInFlight: number;
  /**
   * Its type's changes wait for checkpoints (`durability = "checkpoint"`, known from its first
   * reply): checkpoints never wait for its stored messages, since its replies store no state and a
   * long backlog would hold every checkpoint back.
   */
  checkpointDurable: boolean;
}

/**
 * `durable` of an agent whose record is on disk: compared by identity, so a write of its handlers
 * goes to the next group commit without waiting on a settled promise.
 */
export const DURABLE: Promise<unknown> = Promise.resolve();
