/** `demo.busy`: `burn {ms}` keeps its worker's CPU busy for `ms` and replies `{ms}`. */
import { type Message, Paglet } from "../../agents/mod.ts";

export class Busy extends Paglet<{ burned: number }> {
  static override readonly type = "demo.busy";

  override initialState() {
    return { burned: 0 };
  }

  override onMessage(msg: Message) {
    if (msg.kind !== "burn") return this.notHandled(msg);
    const ms = Number(msg.args.ms ?? 0);
    if (!Number.isFinite(ms) || ms < 0) return this.notHandled(msg);
    // Deliberately synchronous: it occupies the worker thread, as runaway code would.
    const until = performance.now() + ms;
    let spins = 0;
    while (performance.now() < until) spins++;
    this.state.burned += ms;
    return { ms, spins };
  }
}
