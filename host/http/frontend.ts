/**
 * How the host listens: the HTTP server (Deno.serve) on a private Unix socket, and the
 * {@link ConnectionGate} on the public TCP address relaying to it. The socket lives in a directory
 * of its own under the system temp dir (a Unix socket path must stay short), removed at close.
 */
import { join } from "node:path";
import { PagletError } from "../../agents/errors.ts";
import { ConnectionGate, type GateEvent, type GateOptions } from "./connection_gate.ts";

export interface FrontendOptions extends GateOptions {
  bind: string;
  port: number;
  onError: (error: unknown) => Response;
  onGateEvent: (event: GateEvent) => void;
}

export class HttpFrontend {
  readonly #server: Deno.HttpServer;
  readonly #gate: ConnectionGate;
  readonly #socketDir: string;

  private constructor(server: Deno.HttpServer, gate: ConnectionGate, socketDir: string) {
    this.#server = server;
    this.#gate = gate;
    this.#socketDir = socketDir;
  }

  /** Starts serving `handler`; a port that cannot be had is `port_in_use` or `invalid_request`. */
  static async start(
    handler: (request: Request) => Response | Promise<Response>,
    options: FrontendOptions,
  ): Promise<HttpFrontend> {
    const socketDir = await Deno.makeTempDir({ prefix: "paglets-http-" });
    const path = join(socketDir, "http.sock");
    const listening = Promise.withResolvers<void>();
    const server = Deno.serve(
      { path, onListen: () => listening.resolve(), onError: options.onError },
      handler,
    );
    await listening.promise;
    let gate: ConnectionGate;
    try {
      gate = new ConnectionGate(options.bind, options.port, path, options, options.onGateEvent);
    } catch (err) {
      await server.shutdown().catch(() => {});
      await Deno.remove(socketDir, { recursive: true }).catch(() => {});
      throw explainListenError(err, options.bind, options.port);
    }
    return new HttpFrontend(server, gate, socketDir);
  }

  get addr(): Deno.NetAddr {
    return this.#gate.addr;
  }

  /** Connections open now. */
  get connections(): number {
    return this.#gate.open;
  }

  /** Stops taking connections, lets the server finish what it answers, then closes everything. */
  async shutdown(): Promise<void> {
    this.#gate.stopAccepting();
    await this.#server.shutdown().catch(() => {});
    await this.#gate.closeAll();
    await Deno.remove(this.#socketDir, { recursive: true }).catch(() => {});
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
  return err;
}

/**
 * The most connections the process's file limit allows: each relayed connection holds three
 * descriptors (the client's and both ends of the Unix socket), and the host keeps a reserve for its
 * database, workers and peers. It is the default cap and also the ceiling of a cap a user sets: past
 * it the HTTP server's own accept would fail for lack of descriptors, which ends the process.
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
  return Math.max(8, Math.min(1000, Math.floor((limit - 128) / 3)));
}
