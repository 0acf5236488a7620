/**
 * A script's handle on the mesh: `const mesh = await connect()` in a file run by `paglets run`.
 *
 * The handle has the shape of the parts of a {@link PagletContext} that a launcher needs (create,
 * send, sendOneway, hosts), so code that starts work — `submitComputeJobGroup(ctxOrMesh, ...)` —
 * takes either. Types the script defines are created from the script's own module (its bundle,
 * shipped to the entry host by `paglets run`); other hosts fetch that module when they need it.
 *
 * @example
 * ```ts
 * import { connect, Paglet } from "paglets";
 * export class Echo extends Paglet<{ n: number }> {
 *   static override readonly type = "me.echo";
 *   override initialState() { return { n: 0 }; }
 *   override onMessage(m: Message) { return { n: ++this.state.n }; }
 * }
 * if (import.meta.main) {
 *   const mesh = await connect();
 *   const echo = await mesh.create(Echo.type, { host: "h2" });
 *   console.log(await mesh.send(echo, { kind: "ping" }));
 * }
 * ```
 * @module
 */
import type { AgentRef, CreateOptions, MeshHost } from "./context.ts";
import { PagletError } from "./errors.ts";
import type { MessageInput, SendOptions } from "./message.ts";

/** What a script does on the mesh; the subset of PagletContext a launcher needs, plus inspection. */
export interface Mesh {
  /** The entry host's URL. */
  readonly entry: string;
  /** Hash of the script's module (its paglet types run from it anywhere in the mesh). */
  readonly code: string;
  /** Creates a paglet; a type the script defines runs the script's module. `host`: name or URL. */
  create(type: string, options?: CreateOptions): Promise<AgentRef>;
  /** Sends a message and awaits the reply. */
  send(target: string | AgentRef, message: MessageInput, options?: SendOptions): Promise<unknown>;
  /** Sends a message without waiting for its handling. */
  sendOneway(target: string | AgentRef, message: MessageInput, options?: SendOptions): Promise<void>;
  /** Hosts of the mesh, the entry host included. */
  hosts(options?: { onlineOnly?: boolean }): Promise<MeshHost[]>;
  /** An agent's record (JSON view with its state, `host`, `code`), following its moves; null if gone. */
  agent(target: string | AgentRef): Promise<Record<string, unknown> | null>;
  /** Disposes a paglet. */
  dispose(target: string | AgentRef): Promise<void>;
}

/** Installed by the process that runs scripts (`paglets run`). */
export type Connector = () => Promise<Mesh>;

const CONNECTOR = Symbol.for("paglets.connector");

/** Makes {@link connect} answer in this process (called by `paglets run` before the script runs). */
export function installConnector(connector: Connector): void {
  (globalThis as Record<symbol, unknown>)[CONNECTOR] = connector;
}

/** The mesh of the entry host `paglets run` was given (or its embedded host). */
export function connect(): Promise<Mesh> {
  const connector = (globalThis as Record<symbol, unknown>)[CONNECTOR] as Connector | undefined;
  if (!connector) {
    return Promise.reject(
      new PagletError(
        "not_supported",
        "connect() works in a script run by `paglets run FILE.ts`, in its main part: put the script's " +
          "top-level work under `if (import.meta.main)` (hosts load the same module for its paglet classes)",
      ),
    );
  }
  return connector();
}
