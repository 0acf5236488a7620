/**
 * Arrivals that did not start when they came: their code was missing here (they wait, inactive, for
 * it), or the host stopped first (they start at its next start). Their `onArrival`/`onClone` never
 * runs; their record keeps the reason their activation reports instead of the reason of whatever
 * brings them back at last (`restore`, `startup`, `message`…): `arrival-waited` for a move,
 * `clone-waited` for a copy. A paglet with work under way in memory learns from it that a move, or
 * a copy, interrupted it (agents/activation_reasons.ts).
 *
 * @example
 * ```ts
 * import { startOf, waitedArrival } from "./waited_arrivals.ts";
 *
 * const arrival = { kind: "arrival" as const, at: 0, hostName: "beta", reason: "dispatch" };
 * const meta = waitedArrival({}, arrival); // stored with the record that waits
 * const activation = { kind: "activation" as const, at: 1, hostName: "beta", reason: "restore" };
 * startOf(meta, activation).event?.reason; // "arrival-waited"
 * ```
 *
 * @module
 */
import type { LifecycleEvent } from "../../agents/paglet.ts";

/** The record's meta key that holds the reason. */
const KEY = "waitedArrival";

/** `meta` of an arrival (`event`: its onArrival or onClone) that waits to start. */
export function waitedArrival(meta: Record<string, unknown>, event: LifecycleEvent): Record<string, unknown> {
  return { ...meta, [KEY]: event.kind === "clone" ? "clone-waited" : "arrival-waited" };
}

/**
 * What a start of a stored record runs with: `meta` without the note (a start spends it), and its
 * activation `event` with the waited arrival's reason, when the record has one.
 */
export function startOf(
  meta: Record<string, unknown>,
  event: LifecycleEvent | null,
): { meta: Record<string, unknown>; event: LifecycleEvent | null } {
  if (!(KEY in meta)) return { meta, event };
  const { [KEY]: reason, ...rest } = meta;
  const waited = event?.kind === "activation" && typeof reason === "string";
  return { meta: rest, event: waited ? { ...event, reason } : event };
}
