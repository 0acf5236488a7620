/// <reference lib="deno.worker" />
/**
 * The reference worker of the benchmarks: posts every message back. Sent `{port}`, it echoes on
 * that MessagePort instead.
 */
self.onmessage = (event: MessageEvent) => {
  const port = (event.data as { port?: MessagePort })?.port;
  if (port instanceof MessagePort) {
    port.onmessage = (e) => port.postMessage(e.data);
    return;
  }
  self.postMessage(event.data);
};
