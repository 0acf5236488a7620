/**
 * How the host listens: the {@link ConnectionGate} on the public TCP address, serving the host's
 * handler on each connection it accepts.
 */
import { PagletError } from "../../agents/errors.ts";
import { ConnectionGate, type GateEvent, type GateOptions, type Handler } from "./connection_gate.ts";

export interface FrontendOptions extends GateOptions {
  bind: string;
  port: number;
  onError: (error: unknown) => Response;
  onGateEvent: (event: GateEvent) => void;
}

export class HttpFrontend {
  readonly #gate: ConnectionGate;

  private constructor(gate: ConnectionGate) {
    this.#gate = gate;
  }

  /** Starts serving `handler`; a port that cannot be had is `port_in_use` or `invalid_request`. */
  static start(handler: Handler, options: FrontendOptions): Promise<HttpFrontend> {
    try {
      return Promise.resolve(
        new HttpFrontend(
          new ConnectionGate(
            options.bind,
            options.port,
            handler,
            options.onError,
            options,
            options.onGateEvent,
          ),
        ),
      );
    } catch (err) {
      return Promise.reject(explainListenError(err, options.bind, options.port));
    }
  }

  get addr(): Deno.NetAddr {
    return this.#gate.addr;
  }

  /** Connections open now. */
  get connections(): number {
    return this.#gate.open;
  }

  /** Stops taking connections, lets each finish what it answers, then closes everything. */
  async shutdown(): Promise<void> {
    await this.#gate.closeAll();
  }
}

/**
 * Fails as {@link HttpFrontend.start} would when the address cannot be listened on (a name that
 * does not resolve, an address not on this machine, a port in use), without keeping it: the host
 * checks before it creates or opens anything in its data dir.
 */
export function checkListenAddress(bind: string, port: number): void {
  try {
    Deno.listen({ hostname: bind, port }).close();
  } catch (err) {
    throw explainListenError(err, bind, port);
  }
}

function explainListenError(err: unknown, bind: string, port: number): unknown {
  if (err instanceof Deno.errors.AddrInUse) {
    return new PagletError(
      "port_in_use",
      `Port ${port} on ${bind} is in use by another program: pick another with --port (0 takes any free port)`,
    );
  }
  if (err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.AddrNotAvailable) {
    return new PagletError("invalid_request", `Cannot listen on ${bind}:${port}: ${(err as Error).message}`);
  }
  // Name resolution fails with a plain Error ("failed to lookup address information: ...").
  if (err instanceof Error && /lookup address/.test(err.message)) {
    return new PagletError(
      "invalid_request",
      `Cannot listen on ${bind}: the name does not resolve (${err.message}): pass --bind an IP address of this machine or a name that resolves to one`,
    );
  }
  return err;
}

/**
 * The most connections the process's file limit allows: each connection holds one descriptor,
 * and the host keeps a reserve for its database, workers, peers and files. It is the default cap
 * and also the ceiling of a cap a user sets: past it a served connection could not get the
 * descriptors its requests need (files, peers).
 */
export function maxConnectionsForFileLimit(): number {
  let limit = 1024;
  try {
    const line = Deno.readTextFileSync("/proc/self/limits").split("\n").find((l) =>
      l.startsWith("Max open files")
    );
    const soft = Number(line?.split(/\s{2,}/)[1]);
    if (Number.isFinite(soft) && soft > 0) limit = soft;
  } catch { /* not Linux: assume the common default */ }
  return Math.max(8, Math.min(1000, Math.floor((limit - 128) / 2)));
}
