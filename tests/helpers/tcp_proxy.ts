/**
 * A TCP proxy on 127.0.0.1 in front of a host, for network conditions a test makes itself: it
 * passes everything until {@link TcpProxy.freeze}, from which on every flow open stands still (what
 * comes is dropped, nothing is answered or closed) and connections made meanwhile are accepted and
 * never read, as a cut link or a hung server leaves them; {@link TcpProxy.pass} lets new connections
 * through again. With `bytesPerSecond`, the host's answers reach the clients at that rate, in
 * pieces of 64 KiB (a slow link).
 */

const PIECE = 64 * 1024;

export interface TcpProxyOptions {
  /** The proxy's port. @default a free one */
  port?: number;
  /** The rate of the host's answers to the clients. @default as fast as they come */
  bytesPerSecond?: number;
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
  readonly url: string;

  /** A proxy to the host at `target` (its URL). */
  constructor(target: string, options: TcpProxyOptions = {}) {
    const listener = this.#listener = Deno.listen({ hostname: "127.0.0.1", port: options.port ?? 0 });
    this.#bytesPerSecond = options.bytesPerSecond;
    this.url = `http://127.0.0.1:${listener.addr.port}`;
    const port = Number(new URL(target).port);
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
        void this.#pipe(client, host, epoch, undefined);
        void this.#pipe(host, client, epoch, this.#bytesPerSecond);
      }
    })().catch(() => {/* closed */});
  }

  async #pipe(from: Deno.Conn, to: Deno.Conn, epoch: number, rate: number | undefined): Promise<void> {
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
        for (let off = 0; off < n;) off += await to.write(buf.subarray(off, n));
        // The link's rate: a piece takes its time (a property of the link, not a wait for a condition).
        if (rate) await new Promise((resolve) => setTimeout(resolve, (n * 1000) / rate));
      }
    } catch { /* closed */ }
    if (this.#epoch !== epoch) return;
    this.#close(from);
    this.#close(to);
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
