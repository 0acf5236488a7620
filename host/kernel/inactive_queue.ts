/**
 * Messages for inactive agents whose policy queues them: stored in order, handed to the agent's
 * mailbox when it next runs, and re-routed per policy when an agent leaves with messages waiting.
 */
import { PagletError } from "../../agents/errors.ts";
import type { Message } from "../../agents/message.ts";
import type { DeactivationPolicy } from "../../agents/policy.ts";
import type { AgentStore, QueuedMessage } from "../storage/agent_store.ts";
import type { LiveAgent } from "./live_agent.ts";
import type { EventLog } from "./events.ts";
import { type Delivery, expired, StillQueued, tooLate } from "./mailbox.ts";

export class InactiveQueue {
  readonly #store: AgentStore;
  readonly #events: EventLog;
  /** Whether `agent` is still the running instance of its id. */
  readonly #current: (agent: LiveAgent) => boolean;
  /** Per agent, the drain of stored messages under way (drains of one agent never overlap). */
  readonly #draining = new Map<string, Promise<void>>();

  constructor(store: AgentStore, events: EventLog, current: (agent: LiveAgent) => boolean) {
    this.#store = store;
    this.#events = events;
    this.#current = current;
  }

  /** Stores a message for inactive agent `id`, after those already stored. */
  async enqueue(id: string, message: Message, oneway: boolean): Promise<void> {
    await this.#store.enqueue(id, message, oneway);
    this.#events.emit("message-queued", { agentId: id, data: { kind: message.kind, messageId: message.id } });
  }

  /** The messages stored for `id`, oldest first (read by a start before the agent goes live). */
  stored(id: string): Promise<QueuedMessage[]> {
    return this.#store.queued(id);
  }

  /**
   * Posts a stored message to the agent's mailbox; its outcome becomes an event (nobody waits for
   * it). It stays stored until its handler's effect is (the runtime removes it in that commit), so
   * a crash in between replays it at the next start.
   */
  post(agent: LiveAgent, queued: QueuedMessage): void {
    const message = queued.message;
    agent.handedSeq = Math.max(agent.handedSeq, queued.seq);
    agent.mailbox.post(message, { oneway: queued.oneway, queuedSeq: queued.seq }).then(
      (outcome) => {
        // Still stored (the agent left before handling it): delivered later, and said so then.
        if (outcome instanceof StillQueued) return;
        this.#events.emit("message-delivered", {
          agentId: agent.id,
          data: { kind: message.kind, queued: true },
        });
      },
      (err) =>
        this.#events.emit("message-failed", {
          agentId: agent.id,
          data: { kind: message.kind, queued: true },
          error: PagletError.from(err).message,
        }),
    );
  }

  /** Moves messages stored for `agent` into its mailbox, in their order. */
  drain(agent: LiveAgent): Promise<void> {
    const previous = this.#draining.get(agent.id) ?? Promise.resolve();
    const next = previous.then(async () => {
      if (!this.#current(agent)) return;
      const queued = (await this.#store.queued(agent.id)).filter((q) => q.seq > agent.handedSeq);
      if (queued.length === 0 || !this.#current(agent)) return;
      for (const q of queued) this.post(agent, q);
    }).finally(() => {
      if (this.#draining.get(agent.id) === next) this.#draining.delete(agent.id);
    });
    this.#draining.set(agent.id, next);
    return next;
  }

  /**
   * Messages that were waiting in the mailbox of an agent that went inactive: per its policy they
   * activate it again (`redeliver`), are stored in their order, or fail with `agent_inactive`.
   */
  async requeue(
    agent: LiveAgent,
    policy: DeactivationPolicy,
    redeliver: (message: Message, delivery: Delivery | undefined) => Promise<unknown>,
  ): Promise<void> {
    for (const waiting of agent.mailbox.drain()) {
      if (expired(waiting.delivery, performance.now())) {
        // Its sender got `timeout` already: it neither wakes the agent nor waits for it.
        waiting.reject(tooLate(waiting.message));
      } else if (waiting.delivery?.queuedSeq !== undefined) {
        // Still stored: it is handed over again when the agent next runs.
        waiting.resolve(new StillQueued(waiting.message.id));
      } else if (policy.activateOnMessage) {
        redeliver(waiting.message, waiting.delivery).then(waiting.resolve, waiting.reject);
      } else if (policy.queueMessagesWhenInactive) {
        try {
          await this.#store.enqueue(agent.id, waiting.message, waiting.delivery?.oneway ?? false);
          waiting.resolve(new StillQueued(waiting.message.id));
        } catch (err) {
          waiting.reject(err);
        }
      } else {
        waiting.reject(
          new PagletError("agent_inactive", `Agent ${agent.id} went inactive before handling the message`),
        );
      }
    }
  }
}
