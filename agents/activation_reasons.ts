/**
 * What interrupted work that a paglet had under way in memory, in words, from the reason of the
 * activation that brought it back (`LifecycleEvent.reason` of `onActivation`): a paglet that ends
 * such work as failed says why in its error, as the host tells it.
 *
 * @example
 * ```ts
 * import { interruptionOf } from "./activation_reasons.ts";
 *
 * interruptionOf("worker-replaced"); // "interrupted by a replacement of its worker (stuck or crashed)"
 * interruptionOf("arrival-waited"); // "interrupted by a move (its start on the new host waited …)"
 * interruptionOf("message"); // "interrupted by a deactivation"
 * ```
 *
 * @module
 */

/** The words for each reason that brings back a paglet whose work was under way. */
const INTERRUPTIONS: Readonly<Record<string, string>> = {
  // A stop that put it to sleep (startup), or a crash or a stop that could not (restore).
  startup: "interrupted by a host restart",
  restore: "interrupted by a host restart",
  "worker-replaced": "interrupted by a replacement of its worker (stuck or crashed)",
  "dispatch-failed": "interrupted by a move that failed",
  // An arrival whose onArrival/onClone never ran: its code was missing on the new host, or that host
  // stopped first (host/kernel/waited_arrivals.ts).
  "arrival-waited": "interrupted by a move (its start on the new host waited for its code or a restart)",
  "clone-waited": "interrupted: this is a copy, whose start waited (the work runs on in the original)",
};

/**
 * What interrupted a paglet's work, by the reason of the activation that started it again; any other
 * reason (`message`, `timer`, `external`): it was put to sleep, by hand or by itself.
 */
export function interruptionOf(reason: string | undefined): string {
  return INTERRUPTIONS[reason ?? ""] ?? "interrupted by a deactivation";
}
