/**
 * A script with paglets of its own: `paglets run examples/scripts/squares.ts [-- N]`.
 *
 * It creates one `Squarer` on every host of the mesh (hosts that never saw this file fetch its code
 * from the entry host), asks each for squares, and has one of them dispatch itself to another
 * host. Prints one JSON line per answer.
 */
import { connect, type Message, Paglet, z } from "paglets";

const SquarerState = z.object({ served: z.number().int(), hops: z.array(z.string()) });
type SquarerState = z.infer<typeof SquarerState>;

export class Squarer extends Paglet<SquarerState> {
  static override readonly type = "scripts.squarer";
  static override readonly stateSchema = SquarerState;
  override initialState(): SquarerState {
    return { served: 0, hops: [] };
  }
  override onCreation(): void {
    this.state.hops.push(this.host.name);
  }
  override onArrival(): void {
    this.state.hops.push(this.host.name);
  }
  override async onMessage(message: Message): Promise<unknown> {
    if (message.kind === "square") {
      const n = Number(message.args.n);
      this.state.served++;
      return { n, square: n * n, host: this.host.name, served: this.state.served };
    }
    if (message.kind === "hop") {
      const ref = await this.context.dispatch(String(message.args.to));
      return { movedTo: ref.host };
    }
    if (message.kind === "spawn") {
      // A type from this script's own module, created by name from inside the mesh.
      const child = await this.context.create(Squarer.type, { host: String(message.args.on) });
      return await this.context.send(child, { kind: "square", args: { n: 7 } });
    }
    return this.notHandled();
  }
}

// The main part runs in the `paglets run` process only; hosts load this module for Squarer.
if (import.meta.main) {
  const n = Number(Deno.args[0] ?? 3);
  const mesh = await connect();
  const hosts = await mesh.hosts({ onlineOnly: true });
  const squarers = [];
  for (const host of hosts) {
    const squarer = await mesh.create(Squarer.type, { host: host.name });
    squarers.push(squarer);
    for (let i = 1; i <= n; i++) {
      console.log(JSON.stringify(await mesh.send(squarer, { kind: "square", args: { n: i } })));
    }
  }
  // From inside the mesh: the first squarer creates one of its own type on the last host, then
  // moves itself there (the module travels with neither: the hosts fetch it by its hash).
  const last = hosts[hosts.length - 1].name;
  console.log(JSON.stringify(await mesh.send(squarers[0], { kind: "spawn", args: { on: last } })));
  console.log(JSON.stringify(await mesh.send(squarers[0], { kind: "hop", args: { to: last } })));
  console.log(JSON.stringify({ code: mesh.code, hosts: hosts.map((h) => h.name) }));
}
