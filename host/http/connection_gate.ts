/**
 * The host's TCP front door. Deno.serve has no header timeout, no idle timeout and no connection
 * cap, and at the process's file limit its accept loop fails with an uncaught error that ends the
 * process. The gate owns the listening socket instead and relays each accepted connection to the
 * HTTP server, which listens on a Unix socket of its own:
 *
 * - a connection beyond `maxConnections` is answered `503 too_many_connections` and closed;
 * - the first request head must arrive within `headerTimeoutMs` (slow-header clients are cut) and
 *   fit in `maxHeaderBytes` (`431 headers_too_large` otherwise);
 * - a connection on which the client has nothing in progress (the host spoke last, or nobody
 *   spoke) is closed after `idleTimeoutMs`; a request the host is still answering is never cut;
 * - a failing accept (no file descriptors left) is reported and retried: a client never stops
 *   the host.
 */

/** Limits of the gate. */
export interface GateOptions {
  /** Connections served at once; one more is refused with 503. @default 1000 */
  maxConnections: number;
  /** Time a new connection has to send its first request head. @default 10000 */
  headerTimeoutMs: number;
  /** Time a connection with nothing in progress stays open. @default 60000 */
  idleTimeoutMs: number;
  /** Largest first request head (below the HTTP server's own limit of 64 KiB). @default 32768 */
  maxHeaderBytes: number;
}

/** What the gate reports (the host turns these into events). */
export type GateEvent =
  | { kind: "refused"; open: number }
  | { kind: "accept-failed"; error: string };

const RELAY_CHUNK = 64 * 1024;
const HEAD_END = [13, 10, 13, 10];
/** Pause before accepting again after a failed accept (no descriptors left): let connections end. */
const ACCEPT_RETRY_MS = 50;
/** 503 answers being written at once; more refusals are closed unanswered. */
const MAX_REFUSALS_IN_FLIGHT = 16;

export class ConnectionGate {
  readonly #listener: Deno.TcpListener;
  readonly #upstream: string;
  readonly #options: GateOptions;
  readonly #onEvent: (event: GateEvent) => void;
  readonly #relays = new Set<Relay>();
  readonly #sweeper: ReturnType<typeof setInterval>;
  #refusing = 0;
  #closed = false;

  /** Listens on `hostname:port` (throws Deno's AddrInUse as it is) and relays to the Unix socket `upstream`. */
  constructor(
    hostname: string,
    port: number,
    upstream: string,
    options: GateOptions,
    onEvent: (event: GateEvent) => void,
  ) {
    this.#listener = Deno.listen({ hostname, port, transport: "tcp" });
    this.#upstream = upstream;
    this.#options = options;
    this.#onEvent = onEvent;
    const sweepMs = Math.max(50, Math.min(1000, options.headerTimeoutMs / 4, options.idleTimeoutMs / 4));
    this.#sweeper = setInterval(() => this.#sweep(), sweepMs);
    void this.#acceptLoop();
  }

  get addr(): Deno.NetAddr {
    return this.#listener.addr;
  }

  /** Connections open now. */
  get open(): number {
    return this.#relays.size;
  }

  /** Stops accepting; connections already open end with the server (or with {@link closeAll}). */
  stopAccepting(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    try {
      this.#listener.close();
    } catch { /* already closed */ }
  }

  /**
   * Closes every connection still open, after the server finished what it was answering: relays
   * first get up to `graceMs` to pass on the last bytes the server wrote (they end by themselves
   * once the server side closes).
   */
  async closeAll(graceMs = 1000): Promise<void> {
    this.stopAccepting();
    const deadline = Date.now() + graceMs;
    while (this.#relays.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const relay of this.#relays) relay.close();
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (err) {
        if (this.#closed) return;
        this.#onEvent({ kind: "accept-failed", error: (err as Error).message });
        await new Promise((resolve) => setTimeout(resolve, ACCEPT_RETRY_MS));
        continue;
      }
      if (this.#relays.size >= this.#options.maxConnections) {
        this.#onEvent({ kind: "refused", open: this.#relays.size });
        this.#refuse(conn);
        continue;
      }
      const relay = new Relay(conn, this.#options, () => this.#relays.delete(relay));
      this.#relays.add(relay);
      void relay.run(this.#upstream);
    }
  }

  /**
   * Answers 503 to a connection past the cap. Each refusal holds a descriptor until its answer is
   * written; in a flood, refusals beyond {@link MAX_REFUSALS_IN_FLIGHT} are closed unanswered so
   * that they cannot eat the reserve the served connections and the host need.
   */
  #refuse(conn: Deno.TcpConn): void {
    if (this.#refusing >= MAX_REFUSALS_IN_FLIGHT) {
      try {
        conn.close();
      } catch { /* already closed */ }
      return;
    }
    this.#refusing++;
    void refuse(
      conn,
      503,
      "too_many_connections",
      `The host serves ${this.#relays.size} connections, its limit: try again shortly`,
    ).finally(() => this.#refusing--);
  }

  #sweep(): void {
    const now = Date.now();
    for (const relay of this.#relays) relay.expire(now);
  }
}

/** One client connection relayed to the HTTP server. */
class Relay {
  readonly #client: Deno.TcpConn;
  readonly #options: GateOptions;
  readonly #onClose: () => void;
  #server?: Deno.UnixConn;
  readonly #openedAt = Date.now();
  /** Bytes of the first request head seen so far; -1 once it is complete. */
  #headBytes = 0;
  #headMatch = 0;
  #lastActivity = Date.now();
  /** The client sent bytes after the host's last answer: a request is in progress. */
  #clientSpokeLast = false;
  #closed = false;

  constructor(client: Deno.TcpConn, options: GateOptions, onClose: () => void) {
    this.#client = client;
    this.#options = options;
    this.#onClose = onClose;
  }

  async run(upstream: string): Promise<void> {
    try {
      this.#server = await Deno.connect({ transport: "unix", path: upstream });
    } catch {
      this.close();
      return;
    }
    await Promise.all([this.#clientToServer(), this.#serverToClient()]);
    this.close();
  }

  /** Closes the connection when its head is late or it has been idle too long. */
  expire(now: number): void {
    if (this.#headBytes >= 0 && now - this.#openedAt > this.#options.headerTimeoutMs) {
      this.#headBytes = -1;
      void this.#answer(
        408,
        "timeout",
        `No complete request head within ${this.#options.headerTimeoutMs} ms`,
      );
    } else if (!this.#clientSpokeLast && now - this.#lastActivity > this.#options.idleTimeoutMs) {
      this.close();
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const conn of [this.#client, this.#server]) {
      try {
        conn?.close();
      } catch { /* already closed */ }
    }
    this.#onClose();
  }

  async #clientToServer(): Promise<void> {
    const buf = new Uint8Array(RELAY_CHUNK);
    try {
      while (!this.#closed) {
        const n = await this.#client.read(buf);
        if (n === null) break;
        this.#lastActivity = Date.now();
        this.#clientSpokeLast = true;
        const chunk = buf.subarray(0, n);
        if (this.#headBytes >= 0 && !this.#scanHead(chunk)) return;
        await writeAll(this.#server!, chunk);
      }
      await this.#server!.closeWrite();
    } catch {
      // Either side went away: the other pump ends too.
    }
  }

  async #serverToClient(): Promise<void> {
    const buf = new Uint8Array(RELAY_CHUNK);
    try {
      while (!this.#closed) {
        const n = await this.#server!.read(buf);
        if (n === null) break;
        this.#lastActivity = Date.now();
        this.#clientSpokeLast = false;
        await writeAll(this.#client, buf.subarray(0, n));
      }
    } catch {
      // Either side went away.
    }
    this.close();
  }

  /** Follows the first request head; false when it grew past the limit (answered 431). */
  #scanHead(chunk: Uint8Array): boolean {
    let end = -1;
    for (let i = 0; i < chunk.length && end < 0; i++) {
      this.#headMatch = chunk[i] === HEAD_END[this.#headMatch]
        ? this.#headMatch + 1
        : chunk[i] === 13
        ? 1
        : 0;
      if (this.#headMatch === 4) end = i + 1;
    }
    this.#headBytes += end < 0 ? chunk.length : end;
    if (this.#headBytes > this.#options.maxHeaderBytes) {
      this.#headBytes = -1;
      void this.#answer(
        431,
        "headers_too_large",
        `The request head exceeds ${this.#options.maxHeaderBytes} bytes`,
      );
      return false;
    }
    if (end >= 0) this.#headBytes = -1;
    return true;
  }

  /** Answers the client directly (the server never saw this request) and closes. */
  async #answer(status: number, code: string, message: string): Promise<void> {
    const conn = this.#client;
    this.#closed = true;
    try {
      this.#server?.close();
    } catch { /* already closed */ }
    this.#onClose();
    await refuse(conn, status, code, message);
  }
}

const STATUS_TEXT: Record<number, string> = {
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
  503: "Service Unavailable",
};

/** Writes a complete error answer in the API's shape and closes the connection. */
async function refuse(conn: Deno.Conn, status: number, code: string, message: string): Promise<void> {
  const body = JSON.stringify({ error: { code, message } });
  const retry = status === 503 ? "retry-after: 1\r\n" : "";
  const head =
    `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
    `content-length: ${new TextEncoder().encode(body).length}\r\n${retry}connection: close\r\n\r\n`;
  try {
    await writeAll(conn, new TextEncoder().encode(head + body));
  } catch { /* the client left */ }
  try {
    conn.close();
  } catch { /* already closed */ }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}
