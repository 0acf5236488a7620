/**
 * The paglet base class: a mobile agent with a stable type name, a plain-data state that moves
 * and persists, lifecycle hooks and a mailbox.
 *
 * @example
 * ```ts
 * import { Paglet, type Message } from "paglets";
 *
 * type CounterState = { count: number };
 * export class Counter extends Paglet<CounterState> {
 *   static override readonly type = "examples.counter";
 *   override initialState(): CounterState { return { count: 0 }; }
 *   override onMessage(msg: Message) {
 *     if (msg.kind === "increment") return { count: (this.state.count += Number(msg.args.by ?? 1)) };
 *     return this.notHandled();
 *   }
 * }
 * ```
 */
import type { z } from "zod";
import { PagletError } from "./errors.ts";
import type { Message } from "./message.ts";
import type { HostInfo, PagletContext } from "./context.ts";
import type { DeactivationPolicy } from "./policy.ts";
import { cancel, later, type Timer } from "./timers.ts";

/** The host's hook on a paglet's {@link Paglet.notifyStateChanged} (host/worker/agent_worker.ts). */
export const STATE_CHANGED: unique symbol = Symbol("paglets.stateChanged");

/** Why a lifecycle hook runs, with where from and where to. */
export interface LifecycleEvent {
  kind: "creation" | "arrival" | "clone" | "dispatching" | "deactivating" | "activation" | "disposing";
  at: number;
  hostName: string;
  /** Arguments of the creation (onCreation). */
  args?: Record<string, unknown>;
  /** Host URL the paglet came from / goes to (mobility). */
  source?: string;
  target?: string;
  /**
   * dispatch | retract | clone | deactivate | shutdown | startup | message | timer | external; for an
   * activation that brings back a paglet that was running: restore (its host stopped or crashed
   * while it ran), worker-replaced (its worker was), dispatch-failed (a move of it failed),
   * arrival-waited (it was moved here, and its start waited: its code was missing here, or the host
   * stopped first; its onArrival did not run), clone-waited (the same for a copy: onClone did not run)
   */
  reason?: string;
  /** The policy of a deactivation. */
  policy?: DeactivationPolicy;
  /** The original's id, for a clone. */
  cloneOf?: string;
}

/** The static side of a paglet class. */
export interface PagletClass<S extends object = object> {
  new (): Paglet<S>;
  readonly type: string;
  readonly stateSchema?: z.ZodType;
  readonly durability?: "reply" | "checkpoint";
}

type Waiter = { check: () => boolean; resolve: (ok: boolean) => void; timer: Timer };

export abstract class Paglet<S extends object = Record<string, unknown>> {
  /** Stable name of this paglet type; it travels with the paglet. Must be set by subclasses. */
  static readonly type: string = "";
  /** Optional zod schema the state must satisfy after creation and on arrival. */
  static readonly stateSchema?: z.ZodType;
  /**
   * When a change of the state is on disk. `"reply"`: before the reply to the message that made it
   * is sent (a reply means the change survives a crash). `"checkpoint"`: with the host's periodic
   * checkpoint, about a second later; for states that can be recomputed, a reply then costs no
   * write. Changes made outside a handler (in `run()`, after an await) go with the checkpoint either way.
   * @default "reply"
   */
  static readonly durability: "reply" | "checkpoint" = "reply";

  /** This paglet's id (set by the host before any hook runs). */
  id = "";
  /** The state: the only thing that moves and persists. Plain data only. */
  state: S = {} as S;
  /** The host API. */
  context!: PagletContext;

  #waiters = new Set<Waiter>();

  /** The state a new paglet starts with; `POST /v1/agents {state}` is merged over it. */
  initialState(): S {
    return {} as S;
  }

  /** The host this paglet runs on. */
  get host(): HostInfo {
    return this.context.host;
  }

  onCreation(_event: LifecycleEvent): void | Promise<void> {}
  onArrival(_event: LifecycleEvent): void | Promise<void> {}
  onClone(_event: LifecycleEvent): void | Promise<void> {}
  onDispatching(_event: LifecycleEvent): void | Promise<void> {}
  onDeactivating(_event: LifecycleEvent): void | Promise<void> {}
  onActivation(_event: LifecycleEvent): void | Promise<void> {}
  onDisposing(_event: LifecycleEvent): void | Promise<void> {}

  /** Runs after creation, arrival, clone and activation; not awaited by whoever caused them. */
  run(): void | Promise<void> {}

  /** Handles one message; the return value is the reply. Handlers of one paglet run one at a time. */
  onMessage(_message: Message): unknown {
    return this.notHandled();
  }

  /** Signals that this paglet does not handle a message (the sender gets `not_handled`). */
  notHandled(message?: Message): never {
    throw new PagletError(
      "not_handled",
      `${(this.constructor as PagletClass).type} does not handle ${
        message ? `'${message.kind}'` : "this message"
      }`,
    );
  }

  /** Set by the host: told of {@link notifyStateChanged}, so that the next checkpoint looks. */
  [STATE_CHANGED]?: () => void;

  /**
   * Waits until `predicate(state)` holds, re-checking after every handled message and every
   * `notifyStateChanged()`. Returns false when `timeoutMs` passes first.
   */
  waitState(predicate: (state: S) => boolean, timeoutMs: number): Promise<boolean> {
    if (predicate(this.state)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        check: () => predicate(this.state),
        resolve,
        timer: later(timeoutMs, () => {
          this.#waiters.delete(waiter);
          resolve(false);
        }),
      };
      this.#waiters.add(waiter);
    });
  }

  /**
   * Wakes every `waitState` whose condition now holds, and has the host's next checkpoint (within a
   * second) store the state: call it after changing the state outside a handler (a timer, a
   * callback) with no context call after it.
   */
  notifyStateChanged(): void {
    this[STATE_CHANGED]?.();
    for (const waiter of [...this.#waiters]) {
      let ok = false;
      try {
        ok = waiter.check();
      } catch {
        ok = false;
      }
      if (ok) {
        cancel(waiter.timer);
        this.#waiters.delete(waiter);
        waiter.resolve(true);
      }
    }
  }

  /** Ends pending waits (the paglet is leaving this worker). */
  cancelWaits(): void {
    for (const waiter of this.#waiters) {
      cancel(waiter.timer);
      waiter.resolve(false);
    }
    this.#waiters.clear();
  }
}

/** Is `value` a paglet class with a type name? */
export function isPagletClass(value: unknown): value is PagletClass {
  return typeof value === "function" && value.prototype instanceof Paglet &&
    typeof (value as unknown as PagletClass).type === "string" &&
    (value as unknown as PagletClass).type.length > 0;
}
