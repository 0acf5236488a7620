/**
 * The deadline of a lifecycle hook that a start or a departure waits for (`onCreation`,
 * `onActivation`, `onArrival`, `onClone`, `onDeactivating`, `onDispatching`, `onDisposing`): a hook that never
 * finishes must not hold its paglet, its request or its id for ever. Past the deadline the
 * instance is taken out of its worker (its hook may still run there; what it does then reaches no
 * one), and the caller learns whether the worker answered that at all: one that does not (a hook
 * in a loop) is for the caller to replace.
 */
import type { LifecycleEvent } from "../../agents/paglet.ts";
import { orAfter } from "../../agents/timers.ts";
import type { WorkerSlot } from "./worker_pool.ts";

/** How long a hook may take, unless the host says otherwise (`PAGLETS_HOOK_TIMEOUT_MS`). */
export const HOOK_TIMEOUT_MS = 30_000;

/**
 * How long `onDisposing` may take (less when the hooks' deadline is shorter): a dispose answers
 * within a client's usual 30 s even when it first waits for a running handler.
 */
export const DISPOSING_TIMEOUT_MS = 10_000;

/** How long a worker gets to give up an instance whose hook overran. */
const DROP_MS = 1000;

/** What became of a call that runs a hook: its value, or the instance taken out after the deadline. */
export type HookOutcome<T> =
  | { value: T }
  | {
    /** Why: "onX of ID did not finish within N s". */
    why: string;
    /** The worker gave the instance up in time (a hook awaiting something); false: it does not answer. */
    answered: boolean;
    /** The state the instance had when it was taken out, when the worker answered with it. */
    state?: Uint8Array;
  };

/** `onDeactivating` for a "deactivating" event; "the start" for a start without a hook. */
export function hookName(event: LifecycleEvent | null): string {
  return event ? `on${event.kind[0].toUpperCase()}${event.kind.slice(1)}` : "the start";
}

/** Waits up to `ms` for `call`, a call to `slot`'s worker that runs `event`'s hook for agent `id`. */
export async function withinHookDeadline<T>(
  slot: WorkerSlot,
  id: string,
  event: LifecycleEvent | null,
  call: Promise<T>,
  ms: number,
): Promise<HookOutcome<T>> {
  const done = await orAfter(call.then((value) => ({ value })), ms, null);
  if (done) return done;
  call.catch(() => {/* settles, if ever, with nobody waiting */});
  const why = `${hookName(event)} of ${id} did not finish within ${ms / 1000} s`;
  const dropped = await orAfter(
    slot.rpc.call("stop", [id, null]).then((state) => ({ state }), () => ({ state: undefined })),
    DROP_MS,
    null,
  );
  return dropped ? { why, answered: true, state: dropped.state } : { why, answered: false };
}
