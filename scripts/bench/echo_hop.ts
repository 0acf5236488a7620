/**
 * The floor of the message benchmarks: one round trip to a bare worker that echoes over a
 * MessagePort (scripts/bench/echo_worker.ts), the least any design that runs agent code off the
 * thread serving HTTP pays per message.
 *
 * @module
 */

/**
 * A bare echo worker and `hop(value)`, which resolves with the value posted back. Hops may overlap
 * (a server under `wrk -c8`): the worker answers in order, so replies settle the oldest hop first.
 */
export function startEchoHop(): { hop: (value: unknown) => Promise<unknown>; close: () => void } {
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
