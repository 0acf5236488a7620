/**
 * Failures that may lose durable state (a checkpoint that was not written, an agent that could not
 * be deactivated at shutdown): each becomes an event (`durability-failed`), a log line on stderr
 * (unless the host is quiet) and a counter per kind that /metrics exports. Nothing of this kind is
 * swallowed silently.
 */
import { PagletError } from "../../agents/errors.ts";
import type { EventLog } from "./events.ts";

/** What failed. */
export type DurabilityFailureKind =
  | "checkpoint" // the periodic checkpoint: states since the last one are lost on a crash
  | "final-checkpoint" // the checkpoint at a graceful stop
  | "shutdown-deactivation"; // an agent that did not deactivate at a graceful stop (back from its last checkpoint)

export class DurabilityFailures {
  readonly #events: EventLog;
  readonly #quiet: boolean;
  readonly #counts = new Map<DurabilityFailureKind, number>();

  constructor(events: EventLog, quiet: boolean) {
    this.#events = events;
    this.#quiet = quiet;
  }

  report(kind: DurabilityFailureKind, err: unknown, agentId?: string): void {
    this.#counts.set(kind, (this.#counts.get(kind) ?? 0) + 1);
    const error = PagletError.from(err).message;
    this.#events.emit("durability-failed", { agentId, data: { kind }, error });
    if (!this.#quiet) console.error(`paglets: ${kind} failed${agentId ? ` for ${agentId}` : ""}: ${error}`);
  }

  /** Failures so far, per kind (every kind listed, 0 when none). */
  counts(): Record<DurabilityFailureKind, number> {
    return {
      "checkpoint": this.#counts.get("checkpoint") ?? 0,
      "final-checkpoint": this.#counts.get("final-checkpoint") ?? 0,
      "shutdown-deactivation": this.#counts.get("shutdown-deactivation") ?? 0,
    };
  }
}
