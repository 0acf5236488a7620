/** Raw HTTP/1.1 over a TCP connection, for tests that misbehave on purpose (short bodies, slow heads). */

/** What the peer sent on `conn` until it closed the connection (or `waitMs` passed: `closed` false). */
export async function readUntilClosed(
  conn: Deno.Conn,
  waitMs: number,
): Promise<{ text: string; closed: boolean }> {
  let text = "";
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(64 * 1024);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), waitMs));
  let closed = false;
  try {
    while (true) {
      const n = await Promise.race([conn.read(buffer).catch(() => null), late]);
      if (n === "late") break;
      if (n === null) {
        closed = true;
        break;
      }
      text += decoder.decode(buffer.subarray(0, n), { stream: true });
    }
  } finally {
    clearTimeout(timer);
  }
  return { text, closed };
}

/** The status and the JSON error code of the first response in `text` (status 0: no answer). */
export function answerOf(text: string): { status: number; code?: string } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  const code = /"code":"([a-z_]+)"/.exec(text)?.[1];
  return { status, code };
}

/** The port of a host's URL. */
export function portOf(host: { url: string }): number {
  return Number(new URL(host.url).port);
}

/** A raw TCP connection to a host on 127.0.0.1. */
export async function connect(host: { url: string }): Promise<Deno.TcpConn> {
  return await Deno.connect({ hostname: "127.0.0.1", port: portOf(host) });
}

/** Closes `conn` unless the host closed it already. */
export function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* the host closed it */ }
}

/** Whether the host answers `GET /v1/health` with 200 now. */
export async function healthOk(host: { url: string }): Promise<boolean> {
  const response = await fetch(`${host.url}/v1/health`).catch(() => null);
  await response?.body?.cancel();
  return response?.status === 200;
}

/** The host process has not exited. */
export async function stillRunning(host: { process: Deno.ChildProcess }): Promise<boolean> {
  const exited = await Promise.race([host.process.status.then(() => true), Promise.resolve(false)]);
  return !exited;
}
