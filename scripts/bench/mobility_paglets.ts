/** Paglets of the mobility benchmark: `bench.cargo` (carries a payload and files) and `bench.tourer`. */
import { type LifecycleEvent, type Message, Paglet } from "../../agents/mod.ts";

/** Epoch milliseconds with sub-millisecond resolution (same clock in every process of a machine). */
function now(): number {
  return performance.timeOrigin + performance.now();
}

export class Cargo extends Paglet<{ payload: Uint8Array; hops: number }> {
  static override readonly type = "bench.cargo";
  override initialState() {
    return { payload: new Uint8Array(0), hops: 0 };
  }
  override onArrival() {
    this.state.hops++;
  }
  override async onMessage(msg: Message) {
    if (msg.kind === "register") {
      await this.context.registerFile(String(msg.args.path), { name: String(msg.args.name ?? "cargo.bin") });
      return { ok: true };
    }
    if (msg.kind === "get") return { hops: this.state.hops, size: this.state.payload.length };
    return this.notHandled(msg);
  }
}

export interface TourState {
  itinerary: string[];
  hops: number;
  done: number;
  /** Departure (onDispatching) and arrival (onArrival) times of every hop. */
  departures: number[];
  arrivals: number[];
}

/** Visits `itinerary` round and round, `hops` times, dispatching itself from run(). */
export class Tourer extends Paglet<TourState> {
  static override readonly type = "bench.tourer";
  override initialState(): TourState {
    return { itinerary: [], hops: 0, done: 0, departures: [], arrivals: [] };
  }
  override onDispatching(_e: LifecycleEvent) {
    this.state.departures.push(now());
  }
  override onArrival(_e: LifecycleEvent) {
    this.state.arrivals.push(now());
  }
  override async run() {
    const s = this.state;
    if (s.done >= s.hops || s.itinerary.length < 2) return;
    s.done++;
    await this.context.dispatch(s.itinerary[s.done % s.itinerary.length]);
  }
  override onMessage(msg: Message) {
    if (msg.kind === "get") return this.state;
    return this.notHandled(msg);
  }
}
