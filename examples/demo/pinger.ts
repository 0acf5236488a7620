/**
 * `demo.pinger`: measures paglet-to-paglet round trips. `ping {target, count?, kind?, args?}` sends
 * `count` messages (default 1000) one after another to `target` through `context.send` and replies
 * with the timings: `{count, medianUs, p90Us, meanUs, minUs}`.
 */
import { type Message, Paglet } from "../../agents/mod.ts";

export interface PingReport {
  count: number;
  medianUs: number;
  p90Us: number;
  meanUs: number;
  minUs: number;
}

export class Pinger extends Paglet<{ runs: number }> {
  static override readonly type = "demo.pinger";

  override initialState() {
    return { runs: 0 };
  }

  override async onMessage(msg: Message): Promise<PingReport> {
    if (msg.kind !== "ping") return this.notHandled(msg);
    const { target, count = 1000, kind = "get", args = {} } = msg.args as {
      target?: unknown;
      count?: unknown;
      kind?: unknown;
      args?: unknown;
    };
    if (typeof target !== "string" || typeof kind !== "string") return this.notHandled(msg);
    if (!Number.isInteger(count) || (count as number) < 1) return this.notHandled(msg);
    const times: number[] = [];
    for (let i = 0; i < (count as number); i++) {
      const t0 = performance.now();
      await this.context.send(target, { kind, args: args as Record<string, unknown> });
      times.push(performance.now() - t0);
    }
    this.state.runs++;
    times.sort((a, b) => a - b);
    const at = (p: number) => times[Math.min(times.length - 1, Math.round(p * (times.length - 1)))] * 1000;
    return {
      count: times.length,
      medianUs: at(0.5),
      p90Us: at(0.9),
      meanUs: (times.reduce((s, t) => s + t, 0) / times.length) * 1000,
      minUs: times[0] * 1000,
    };
  }
}
