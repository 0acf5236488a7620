/**
 * What a request to an agent whose record says `moving` here is answered: a departure under way
 * (`agent_moving`, which may pass: the handoff settles within moments), or one whose target no
 * longer knows it (`transfer_expired`: it settles only when the paglet comes back or an operator
 * settles the move, so a sender must not keep trying).
 *
 * @example
 * ```ts
 * movingError("ag_1", { status: "expired", target: "http://10.0.0.2:8765" }).code; // "transfer_expired"
 * movingError("ag_1", null).code; // "agent_moving"
 * ```
 *
 * @module
 */
import { PagletError } from "../../agents/errors.ts";

/** An unsettled departure of an agent recorded moving here, as the host's transfer ledger keeps it. */
export interface DepartureView {
  transferId: string;
  /** The target's URL (and name, where known) as the move recorded them. */
  target: string;
  targetName: string | null;
  status: "pending" | "expired";
  /** When the agent left (this host's clock, ms). */
  departedAt: number;
}

/** The error for a request to agent `id`, recorded `moving` here, whose departure is `departure` (if known). */
export function movingError(
  id: string,
  departure: Pick<DepartureView, "status" | "target"> | null,
): PagletError {
  if (departure?.status === "expired") {
    return new PagletError(
      "transfer_expired",
      `Agent ${id} is reserved here: its move to ${departure.target} was never confirmed and that host ` +
        `no longer knows it; it stays until it comes back or an operator settles the move ` +
        `(docs/mobility.md, "A move its target forgot")`,
      { target: departure.target },
    );
  }
  return new PagletError("agent_moving", `Agent ${id} is moving to another host; try again shortly`);
}
