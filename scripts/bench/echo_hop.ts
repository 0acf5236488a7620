/**
 * The references of the message benchmarks: a bare Hono echo route, and the floor: the same route
 * plus one round trip to a bare worker that echoes over a MessagePort (scripts/bench/echo_worker.ts),
 * the least any design that runs agent code off the thread serving HTTP pays per message.
 *
 * @module
 */
import { Hono } from "hono";

/**
 * Serves `POST /echo` (the bare route) and `POST /echo-hop` (the floor) on 127.0.0.1. The echo
 * worker starts at the first `/echo-hop`: a server measured on `/echo` alone holds no worker.
 */
export function startEchoServer(): { url: string; stop(): Promise<void> } {
  let echo: ReturnType<typeof startEchoHop> | undefined;
  const app = new Hono();
  app.post("/echo", async (c) => c.json({ reply: await c.req.json() }));
  app.post(
    "/echo-hop",
    async (c) => c.json({ reply: await (echo ??= startEchoHop()).hop(await c.req.json()) }),
  );
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    async stop() {
      echo?.close();
      await server.shutdown();
    },
  };
}

/**
 * A bare echo worker and `hop(value)`, which resolves with the value posted back. Hops may overlap
 * (a server under `wrk -c8`): the worker answers in order, so replies settle the oldest hop first.
 */
function startEchoHop(): { hop: (value: unknown) => Promise<unknown>; close: () => void } {
  const worker = new Worker(new URL("./echo_worker.ts", import.meta.url).href, { type: "module" });
  const channel = new MessageChannel();
  worker.postMessage({ port: channel.port2 }, [channel.port2]);
  const waiting: { resolve: (value: unknown) => void; reject: (err: Error) => void }[] = [];
  channel.port1.onmessage = (event) => waiting.shift()?.resolve(event.data);
  let failed: Error | null = null;
  worker.onerror = (event) => {
    event.preventDefault();
    failed = new Error(`the echo worker failed: ${event.message}`);
    for (const w of waiting.splice(0)) w.reject(failed);
  };
  return {
    hop: (value) =>
      new Promise((resolve, reject) => {
        if (failed) return reject(failed);
        waiting.push({ resolve, reject });
        channel.port1.postMessage(value);
      }),
    close: () => {
      worker.terminate();
      channel.port1.close();
    },
  };
}
