/**
 * A TCP proxy on 127.0.0.1 in front of a host, for network conditions a test makes itself: it
 * passes everything until {@link TcpProxy.freeze}, from which on every flow open stands still (what
 * comes is dropped, nothing is answered or closed) and connections made meanwhile are accepted and
 * never read, as a cut link or a hung server leaves them; {@link TcpProxy.pass} lets new connections
 * through again. With `bytesPerSecond`, the host's answers reach the clients at that rate, in
 * pieces of 64 KiB (a slow link); with `answerDelayMs`, each piece of them is held that long before
 * it is passed on (a link's latency). {@link TcpProxy.hold} keeps the requests it is told of from the
 * host until {@link TcpProxy.release}: requests still in flight in the network.
 */

const PIECE = 64 * 1024;

export interface TcpProxyOptions {
  /** The proxy's port. @default a free one */
  port?: number;
  /** The rate of the host's answers to the clients. @default as fast as they come */
  bytesPerSecond?: number;
  /** How long each piece of the host's answers is held before it is passed on. @default 0 */
  answerDelayMs?: number;
}

export class TcpProxy {
  readonly #listener: Deno.TcpListener;
  readonly #bytesPerSecond: number | undefined;
  /** Every connection on either side, closed at {@link close}. */
  readonly #open = new Set<Deno.Conn>();
  /** Connections frozen (flows that stood still, connections never read). */
  readonly #frozen: Deno.Conn[] = [];
  #epoch = 0;
  #freezing = false;
  /** Which requests are held (see {@link hold}), and the bytes of each one held. */
  #holding: ((head: string) => boolean) | null = null;
  readonly #held: Uint8Array[][] = [];
  readonly #port: number;
  readonly url: string;

  /** A proxy to the host at `target` (its URL). */
  constructor(target: string, options: TcpProxyOptions = {}) {
    const listener = this.#listener = Deno.listen({ hostname: "127.0.0.1", port: options.port ?? 0 });
    this.#bytesPerSecond = options.bytesPerSecond;
    const answerDelayMs = options.answerDelayMs ?? 0;
    this.url = `http://127.0.0.1:${listener.addr.port}`;
    const port = this.#port = Number(new URL(target).port);
    void (async () => {
      for await (const client of listener) {
        this.#open.add(client);
        if (this.#freezing) {
          this.#frozen.push(client);
          continue;
        }
        const epoch = this.#epoch;
        const host = await Deno.connect({ hostname: "127.0.0.1", port }).catch(() => null);
        if (!host) {
          this.#close(client);
          continue;
        }
        this.#open.add(host);
        void this.#pipe(client, host, epoch, undefined, true, 0);
        void this.#pipe(host, client, epoch, this.#bytesPerSecond, false, answerDelayMs);
      }
    })().catch(() => {/* closed */});
  }

  async #pipe(
    from: Deno.Conn,
    to: Deno.Conn,
    epoch: number,
    rate: number | undefined,
    fromClient: boolean,
    delayMs: number,
  ): Promise<void> {
    const buf = new Uint8Array(PIECE);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (this.#epoch !== epoch) {
          // Frozen: what came is dropped, and nothing is closed.
          this.#frozen.push(from, to);
          return;
        }
        if (n === null) break;
        if (fromClient && this.#holding?.(new TextDecoder().decode(buf.subarray(0, Math.min(n, 256))))) {
          return await this.#holdRest(from, buf.slice(0, n));
        }
        // The link's latency, like its rate below: a property of the link, not a wait for a condition.
        if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
        for (let off = 0; off < n;) off += await to.write(buf.subarray(off, n));
        // The link's rate: a piece takes its time (a property of the link, not a wait for a condition).
        if (rate) await new Promise((resolve) => setTimeout(resolve, (n * 1000) / rate));
      }
    } catch { /* closed */ }
    if (this.#epoch !== epoch) return;
    this.#close(from);
    this.#close(to);
  }

  /**
   * A request whose first piece begins as `match` says (say, its request line), and whatever its
   * client sends after it on that connection, is held from the host until {@link release}; nothing is
   * answered to it. Other requests pass.
   */
  hold(match: (head: string) => boolean): void {
    this.#holding = match;
  }

  /** How many requests are held. */
  get held(): number {
    return this.#held.length;
  }

  /**
   * Holds no more, and sends each request held to the host, on a connection of its own (its client may
   * be gone: the host's answer goes nowhere). Resolves once they are sent.
   */
  async release(): Promise<void> {
    this.#holding = null;
    for (const pieces of this.#held.splice(0)) {
      const host = await Deno.connect({ hostname: "127.0.0.1", port: this.#port });
      this.#open.add(host);
      for (const piece of pieces) {
        for (let off = 0; off < piece.length;) off += await host.write(piece.subarray(off));
      }
      // The answer is read and dropped; the connection closes with the proxy (or the host).
      void host.readable.pipeTo(new WritableStream()).catch(() => {});
    }
  }

  /** Keeps `first` and what `from` sends after it, as one held request. */
  async #holdRest(from: Deno.Conn, first: Uint8Array): Promise<void> {
    const pieces = [first];
    this.#held.push(pieces);
    const buf = new Uint8Array(PIECE);
    try {
      for (let n = await from.read(buf); n !== null; n = await from.read(buf)) pieces.push(buf.slice(0, n));
    } catch { /* its client is gone */ }
  }

  /** Every flow open stands still, and new connections are accepted and never read. */
  freeze(): void {
    this.#freezing = true;
    this.#epoch++;
  }

  /** New connections pass again; with `closeFrozen`, what was frozen is closed (else it stays frozen). */
  pass({ closeFrozen = false }: { closeFrozen?: boolean } = {}): void {
    this.#freezing = false;
    if (closeFrozen) { for (const conn of this.#frozen.splice(0)) this.#close(conn); }
  }

  /** Stops listening and closes every connection. */
  close(): void {
    this.#listener.close();
    for (const conn of this.#open) this.#close(conn);
    this.#frozen.length = 0;
  }

  #close(conn: Deno.Conn): void {
    this.#open.delete(conn);
    try {
      conn.close();
    } catch { /* closed already */ }
  }
}
