/**
 * The one path of a message to an agent, whoever sends it: the HTTP route, a paglet's
 * `context.send`, a service, or the messages an agent left waiting in its mailbox when it moved.
 *
 * An agent that is here (running, being started, or stored inactive) gets the message from the
 * runtime, which activates or queues per its policy. Otherwise the mesh (when this host is part
 * of one) forwards it to the host named by the sender or by the forwarding record the agent left.
 * Message id, priority, oneway, no-delay and the reply timeout travel unchanged on every path.
 */
import type { Message } from "../../agents/message.ts";
import type { AgentRuntime, DeliverOptions, DeliverResult } from "./agent_runtime.ts";
import type { RemoteRouter } from "./remote.ts";
import { budgetLeft, replyBudget } from "./mailbox.ts";

export interface RouteOptions extends DeliverOptions {
  /** The host the sender believes the agent is on (name or URL); by default this one. */
  targetHost?: string;
  /** How many times the message was already forwarded between hosts (bounds forwarding chains). */
  hops?: number;
}

export class MessageRouter {
  readonly #runtime: AgentRuntime;
  readonly #remote: () => RemoteRouter | null;

  /** `remote`: the mesh, read at every route (a host joins a mesh after its kernel starts). */
  constructor(runtime: AgentRuntime, remote: () => RemoteRouter | null) {
    this.#runtime = runtime;
    this.#remote = remote;
  }

  route(target: string, message: Message, options: RouteOptions = {}): Promise<DeliverResult> {
    const rt = this.#runtime;
    // The common case without a layer of its own (each costs every message a promise): no handoff
    // under way, and the agent is here or there is no mesh.
    try {
      if (!rt.isHeld(target) && (this.#remote() === null || rt.isHere(target))) {
        return rt.deliver(target, message, options);
      }
    } catch (err) {
      return Promise.reject(err); // a failed store read fails the route, as in every other case
    }
    return this.#routeHeldOrRemote(target, message, options);
  }

  async #routeHeldOrRemote(target: string, message: Message, options: RouteOptions): Promise<DeliverResult> {
    const rt = this.#runtime;
    // A handoff under way (departure, arrival) decides whether the agent is still here. The message's
    // timeout counts the wait: past it, the message is not delivered (the handoff goes on).
    if (rt.isHeld(target)) {
      const budget = replyBudget(options);
      await rt.settledWithin(target, budget, message);
      if (budget) options = { ...options, timeoutMs: budgetLeft(budget, target, message) };
    }
    const remote = this.#remote();
    if (!remote || rt.isHere(target)) return await rt.deliver(target, message, options);
    const reply = await remote.send(target, options.targetHost, message, options);
    return options.oneway ? { accepted: true } : { reply };
  }

  /** Routes and answers the reply alone (context.send, services): undefined for oneway or queued. */
  async request(target: string, message: Message, options: RouteOptions = {}): Promise<unknown> {
    const result = await this.route(target, message, options);
    return "reply" in result ? result.reply : undefined;
  }
}
