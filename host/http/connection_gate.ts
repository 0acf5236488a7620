/**
 * The host's TCP front door. Deno.serve has no header timeout, no idle timeout and no connection
 * cap, and at the process's file limit its accept loop fails with an uncaught error that ends the
 * process. The gate owns the listening socket instead, accepts each connection itself and hands it
 * to Deno's HTTP server (one server per connection, on the connection's own socket: no relay, no
 * extra hop):
 *
 * - a connection beyond `maxConnections` is answered `503 too_many_connections` and closed;
 * - a new connection must deliver its first request head within `headerTimeoutMs`, or it is closed;
 *   a first head over `maxHeaderBytes` is answered `431 headers_too_large` (a head beyond the HTTP
 *   parser's own limit, 64 KiB or 100 header lines, gets the parser's bare `400`);
 * - a connection with no request in progress is closed after `idleTimeoutMs` (this also ends a slow
 *   head on a later request of a keep-alive connection); a request the host is still answering is
 *   never cut, unless its body stops arriving: a body read in one piece ({@link watchBody}) that has
 *   not arrived whole within `idleTimeoutMs` ends its connection (a client that sent half a body
 *   and went quiet would otherwise hold the connection, and a place under the cap, for good); a
 *   body read as a stream is given up by its reader after the same time ({@link idleTimeoutOf});
 * - an error answer that leaves the request's body unread (a 401 to a declared 100 MB upload, a 413)
 *   ends the connection once it is sent: Deno's server would otherwise wait for the rest of the body
 *   before reading another request, and hold the connection until the idle timeout;
 * - a failing accept (no file descriptors left) is reported and retried: a client never stops
 *   the host.
 *
 * Deno's per-connection server (`serveHttpOnConnection`) is internal to Deno; the pinned Deno
 * (2.9.6) and the compiled binary have it, and the host refuses to start without it rather than
 * run unprotected.
 */
import { cancel, every, orAfter, sleep, type Timer } from "../../agents/timers.ts";

/** Limits of the gate. */
export interface GateOptions {
  /** Connections served at once; one more is refused with 503. @default 1000 */
  maxConnections: number;
  /** Time a new connection has to send its first request head. @default 10000 */
  headerTimeoutMs: number;
  /** Time a connection with nothing in progress stays open. @default 60000 */
  idleTimeoutMs: number;
  /** Largest first request head (below the HTTP parser's own limit of 64 KiB). @default 32768 */
  maxHeaderBytes: number;
}

/** What the gate reports (the host turns these into events). */
export type GateEvent =
  | { kind: "refused"; open: number }
  | { kind: "accept-failed"; error: string };

export type Handler = (request: Request) => Response | Promise<Response>;

/** What a reader of a request's body in one piece tells the gate (see {@link watchBody}). */
export interface BodyWatch {
  /** The body is read, or its reading ended: it is not watched any more. */
  done(): void;
}

const UNWATCHED: BodyWatch = Object.freeze({ done() {} });

/** The connection of each request being served that may carry a body. */
const connectionOf = new WeakMap<Request, Connection>();

/**
 * Watches the reading of `request`'s body in one piece (`request.arrayBuffer()`, `request.text()`),
 * from now until `done()`: once the body has not arrived whole within the gate's idle timeout, the
 * request's connection is cut, and the read fails. A request the gate did not serve (a host called
 * in-process) is not watched.
 *
 * A body read as a stream is not watched here but by its reader (http/body.ts `streamedBody`, under
 * {@link idleTimeoutOf}), which answers `504 timeout` before its connection ends. A read in one
 * piece needs this watch of its own, for two reasons: it shows no chunk to count and no stream to
 * give up (touching `request.body` takes Deno off its fast path), so cutting the connection is the
 * only way to end it; and every message's body is read so, where a timer per request would cost,
 * while this watch is a time stamp the gate's sweep (which runs anyway) looks at.
 *
 * @example
 * ```ts
 * const watch = watchBody(request);
 * try {
 *   console.log(await request.text());
 * } finally {
 *   watch.done();
 * }
 * ```
 */
export function watchBody(request: Request): BodyWatch {
  return connectionOf.get(request)?.watchBody() ?? UNWATCHED;
}

/**
 * How long a read of `request`'s body may wait for its next bytes: the gate's idle timeout, the
 * one limit on a quiet client. Null for a request the gate did not serve (a host called
 * in-process), whose body is not watched.
 */
export function idleTimeoutOf(request: Request): number | null {
  return connectionOf.get(request)?.idleTimeoutMs ?? null;
}

/**
 * Ends the connection of `request` once its answer is sent: its handler gave its body up before the
 * end because it stopped arriving (an artifact upload, an arriving transfer: http/body.ts
 * `streamedBody`), and Deno's server would otherwise wait for
 * the rest, which the client may never send, holding the connection for as long as the client
 * stays. Only for a body with nothing arrived unread: cutting a socket with data still unread resets
 * it, which may cost the client the answer. A request the gate did not serve is left alone.
 */
export function endAfterAnswer(request: Request): void {
  connectionOf.get(request)?.endAfterAnswer(request);
}

/** Deno's server of one accepted connection (ext/http 00_serve.ts, serveHttpOn). */
interface ConnectionServer {
  finished: Promise<void>;
  shutdown(): Promise<void>;
}

/** What Deno's server tells its handler besides the request (ext/http 00_serve.ts, ServeHandlerInfo). */
interface ServedInfo {
  /** Settles once the answer is handed to the connection (rejects when it could not be sent). */
  readonly completed: Promise<void>;
}

type ServeOnConnection = (
  conn: Deno.Conn,
  signal: AbortSignal,
  handler: (request: Request, info: ServedInfo) => Response | Promise<Response>,
  onError: (error: unknown) => Response | Promise<Response>,
  onListen: () => void,
) => ConnectionServer;

/** Pause before accepting again after a failed accept (no descriptors left): let connections end. */
const ACCEPT_RETRY_MS = 50;
/** 503 answers being written at once; more refusals are closed unanswered. */
const MAX_REFUSALS_IN_FLIGHT = 16;

/**
 * Deno's per-connection HTTP server, read at the first connection: reading it loads Deno's HTTP
 * server module, about 20 ms of CPU, which a host called only in-process (the embedded host of a
 * CLI command) never needs. Whether this Deno has it is checked at once, without loading it.
 */
function serveOnConnection(): () => ServeOnConnection {
  const internal = (Deno as unknown as Record<symbol, Record<string, unknown>>)[
    (Deno as unknown as { internal: symbol }).internal
  ];
  if (!internal || !("serveHttpOnConnection" in internal)) {
    throw new Error(
      `This Deno (${Deno.version.deno}) has no per-connection HTTP server: run paglets with the Deno it pins`,
    );
  }
  return () => internal.serveHttpOnConnection as ServeOnConnection;
}

export class ConnectionGate {
  readonly #listener: Deno.TcpListener;
  readonly #serve: () => ServeOnConnection;
  readonly #handler: Handler;
  readonly #onError: (error: unknown) => Response;
  readonly #options: GateOptions;
  readonly #onEvent: (event: GateEvent) => void;
  readonly #connections = new Set<Connection>();
  readonly #sweeper: Timer;
  #refusing = 0;
  #closed = false;

  /** Listens on `hostname:port` (throws Deno's AddrInUse as it is) and serves `handler` there. */
  constructor(
    hostname: string,
    port: number,
    handler: Handler,
    onError: (error: unknown) => Response,
    options: GateOptions,
    onEvent: (event: GateEvent) => void,
  ) {
    this.#serve = serveOnConnection();
    this.#listener = Deno.listen({ hostname, port, transport: "tcp" });
    this.#handler = handler;
    this.#onError = onError;
    this.#options = options;
    this.#onEvent = onEvent;
    const sweepMs = Math.max(50, Math.min(1000, options.headerTimeoutMs / 4, options.idleTimeoutMs / 4));
    this.#sweeper = every(sweepMs, () => this.#sweep());
    void this.#acceptLoop();
  }

  get addr(): Deno.NetAddr {
    return this.#listener.addr;
  }

  /** Connections open now. */
  get open(): number {
    return this.#connections.size;
  }

  /** Stops accepting; connections already open stay until {@link closeAll}. */
  stopAccepting(): void {
    if (this.#closed) return;
    this.#closed = true;
    cancel(this.#sweeper);
    try {
      this.#listener.close();
    } catch { /* already closed */ }
  }

  /**
   * Closes every connection: idle ones at once; busy ones get `graceMs` to answer, then close if
   * they did, else are cut. (A busy connection is not shut down first: once Deno's server shuts a
   * connection down, it can no longer be cut, and one whose request waits on, or whose client sends
   * a body slowly, would stay open.)
   */
  async closeAll(graceMs = 1000): Promise<void> {
    this.stopAccepting();
    const all = [...this.#connections];
    for (const c of all) if (!c.busy) c.close();
    await orAfter(Promise.all(all.map((c) => c.finished)), graceMs, undefined);
    for (const c of this.#connections) {
      if (c.busy) c.cut();
      else c.close();
    }
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (err) {
        if (this.#closed) return;
        this.#onEvent({ kind: "accept-failed", error: (err as Error).message });
        await sleep(ACCEPT_RETRY_MS);
        continue;
      }
      if (this.#connections.size >= this.#options.maxConnections) {
        this.#onEvent({ kind: "refused", open: this.#connections.size });
        this.#refuse(conn);
        continue;
      }
      const connection = new Connection(conn, this.#serve(), this.#handler, this.#onError, this.#options);
      this.#connections.add(connection);
      void connection.finished.then(() => this.#connections.delete(connection));
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
    void refuseBusy(
      conn,
      `The host serves ${this.#connections.size} connections, its limit: try again shortly`,
    )
      .finally(() => this.#refusing--);
  }

  #sweep(): void {
    const now = Date.now();
    for (const c of this.#connections) c.expire(now);
  }
}

/** One client connection, served by Deno's HTTP server on its own socket. */
class Connection {
  readonly #server: ConnectionServer;
  readonly #abort = new AbortController();
  readonly #options: GateOptions;
  readonly #openedAt = Date.now();
  /** No request has arrived yet: the header timeout applies. */
  #waitingForHead = true;
  /** Requests being answered now. */
  #inFlight = 0;
  #lastActivity = Date.now();
  /** When the reading of a body in one piece began; 0 while none is read. */
  #bodySince = 0;
  #closing = false;
  /** `close()` asked the server to shut the connection down (see {@link cut}). */
  #shuttingDown = false;
  /** Requests whose answer ends the connection ({@link endAfterAnswer}). */
  readonly #ending = new WeakSet<Request>();
  /** Settles when the connection is closed (never rejects). */
  readonly finished: Promise<void>;

  constructor(
    conn: Deno.TcpConn,
    serve: ServeOnConnection,
    handler: Handler,
    onError: (error: unknown) => Response,
    options: GateOptions,
  ) {
    this.#options = options;
    const track = (request: Request, info: ServedInfo): Response | Promise<Response> => {
      if (this.#waitingForHead) {
        this.#waitingForHead = false;
        if (headBytes(request) > options.maxHeaderBytes) {
          return this.#endOnceSent(
            request,
            apiError(431, "headers_too_large", `The request head exceeds ${options.maxHeaderBytes} bytes`),
            info,
          );
        }
      }
      this.#inFlight++;
      if (request.method !== "GET" && request.method !== "HEAD") connectionOf.set(request, this);
      let answer: Response | Promise<Response>;
      try {
        answer = handler(request);
      } catch (err) {
        this.#done();
        throw err;
      }
      if (!(answer instanceof Promise)) return this.#answered(request, answer, info);
      // One reaction per request: this is on the path of every request.
      return answer.then((res) => this.#answered(request, res, info), (err) => {
        this.#done();
        throw err;
      });
    };
    this.#server = serve(conn, this.#abort.signal, track, onError, () => {});
    // A connection reset by its client rejects `finished`: nothing to do but forget it.
    this.finished = this.#server.finished.then(() => {}, () => {});
  }

  #done(): void {
    this.#inFlight--;
    this.#lastActivity = Date.now();
  }

  /**
   * Notes an answer and returns what to send: the answer itself, or, for an error answer that
   * leaves the request's body unread, the same answer ending the connection.
   */
  #answered(request: Request, response: Response, info: ServedInfo): Response | Promise<Response> {
    this.#done();
    if (this.#ending.has(request)) return this.#endOnceSent(request, response, info);
    if (response.status < 400 || !leavesBodyUnread(request, response.status)) return response;
    return this.#endOnceSent(request, response, info);
  }

  /** See {@link endAfterAnswer}. */
  endAfterAnswer(request: Request): void {
    this.#ending.add(request);
  }

  /**
   * `response`, sent so that the connection ends right after it. A graceful close would not do:
   * Deno's server finishes a request only once its body is read to the end, which a client that
   * declared 100 MB and sends slowly, or not at all, never lets happen. So the connection is cut
   * once the answer is out; the client reads the answer, then the end of the stream.
   */
  #endOnceSent(request: Request, response: Response, info: ServedInfo): Response | Promise<Response> {
    this.#closing = true;
    const cut = () => this.cut();
    info.completed.then(cut, cut);
    // `completed` settles once the server has taken the answer. For a body in one piece that is
    // before it is written: the server still writes it first while the request's body is untouched,
    // but not once a handler has read part of the body (a body over the limit, streamed). Such an
    // answer goes as a stream of its own, whose `completed` comes once it is written out (not
    // `response.body`: the server takes a body's own stream in one piece too). The tests in
    // tests/edge hold Deno to both. (Deno's server may add a `connection: close` of its own when
    // a large body is left unread: the field then comes twice, which means the same.)
    if (!request.bodyUsed) {
      try {
        response.headers.set("connection", "close");
      } catch { /* headers of a relayed fetch answer cannot change: it goes as it is */ }
      return response;
    }
    return response.arrayBuffer().then((body) => {
      const headers = new Headers(response.headers);
      headers.set("connection", "close");
      return new Response(ReadableStream.from([new Uint8Array(body)]), {
        status: response.status,
        statusText: response.statusText,
        headers,
      });
    });
  }

  /** See {@link idleTimeoutOf}. */
  get idleTimeoutMs(): number {
    return this.#options.idleTimeoutMs;
  }

  /** A watch on the body of the request in progress (one at a time on a connection). */
  watchBody(): BodyWatch {
    this.#bodySince = Date.now();
    return this.#watch;
  }

  /**
   * The one watch of this connection's bodies, made once: a connection serves one request at a
   * time, and a body is read (or given up) before its answer goes, so the next body's watch
   * starts after this one's `done`.
   */
  readonly #watch: BodyWatch = {
    done: () => {
      this.#bodySince = 0;
    },
  };

  /**
   * Closes the connection when its head is late or it has been idle too long, and cuts it when the
   * body being read in one piece has not arrived within the idle timeout.
   */
  expire(now: number): void {
    if (this.#bodySince !== 0 && now - this.#bodySince > this.#options.idleTimeoutMs) {
      this.#bodySince = 0;
      this.#closing = true;
      this.cut();
      return;
    }
    if (this.#closing) return;
    if (this.#waitingForHead) {
      if (now - this.#openedAt > this.#options.headerTimeoutMs) this.close();
    } else if (this.#inFlight === 0 && now - this.#lastActivity > this.#options.idleTimeoutMs) {
      this.close();
    }
  }

  /** Requests are being answered on it now. */
  get busy(): boolean {
    return this.#inFlight > 0;
  }

  /** Closes once the request in progress (if any) is answered; a partial head is dropped. */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#shuttingDown = true;
    void this.#server.shutdown().catch(() => {/* the client left first */});
  }

  /**
   * Closes at once, whatever is in progress. Not after a shutdown began: Deno's server has closed
   * the connection's resource by then, and its abort listener would throw `BadResource` where
   * nothing can catch it (an uncaught error: a host stopping while a forwarded message still waited
   * for its reply crashed). Such a connection ends with the process.
   */
  cut(): void {
    if (!this.#shuttingDown) this.#abort.abort();
  }
}

/**
 * A declared body up to this size that the handler left unread is the server's to drain: the
 * connection stays open (it has most likely arrived whole already, and cutting a socket with data
 * still unread resets it, which may cost the client the answer).
 */
const DRAINED_BODY_BYTES = 64 * 1024;

/**
 * Whether an error answer leaves a large request body unread, in part at least: the handler never
 * touched it, or it was over a limit (413: read in part at most), and it was declared larger than
 * {@link DRAINED_BODY_BYTES} or sent without a length. A request without a body has none.
 */
function leavesBodyUnread(request: Request, status: number): boolean {
  if (request.bodyUsed && status !== 413) return false;
  const length = request.headers.get("content-length");
  return length === null ? request.headers.has("transfer-encoding") : Number(length) > DRAINED_BODY_BYTES;
}

/** Size of the request head as sent (request line and header lines), near enough for a limit. */
function headBytes(request: Request): number {
  let n = request.method.length + request.url.length + 12;
  for (const [name, value] of request.headers) n += name.length + value.length + 4;
  return n;
}

function apiError(status: number, code: string, message: string): Response {
  return new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", connection: "close" },
  });
}

/** Answers `503 too_many_connections` in the API's shape (the HTTP server never sees it) and closes. */
async function refuseBusy(conn: Deno.Conn, message: string): Promise<void> {
  const body = JSON.stringify({ error: { code: "too_many_connections", message } });
  const head = `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\n` +
    `content-length: ${new TextEncoder().encode(body).length}\r\nretry-after: 1\r\nconnection: close\r\n\r\n`;
  try {
    let bytes = new TextEncoder().encode(head + body);
    while (bytes.length > 0) bytes = bytes.subarray(await conn.write(bytes));
  } catch { /* the client left */ }
  try {
    conn.close();
  } catch { /* already closed */ }
}
