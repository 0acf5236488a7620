/**
 * A bare Hono echo route in a process of its own: the reference of scripts/bench/throughput.ts and
 * message_cpu.ts. `/echo-hop` is the same route plus one round trip to a bare worker (the floor,
 * echo_hop.ts), started at its first request. Prints `{"url": ...}` once it listens.
 */
import { Hono } from "hono";
import { startEchoHop } from "./echo_hop.ts";

// Started by the first `/echo-hop`: a process measured on `/echo` alone holds no worker.
let echo: ReturnType<typeof startEchoHop> | undefined;
const app = new Hono();
app.post("/echo", async (c) => c.json({ reply: await c.req.json() }));
app.post(
  "/echo-hop",
  async (c) => c.json({ reply: await (echo ??= startEchoHop()).hop(await c.req.json()) }),
);
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
console.log(JSON.stringify({ url: `http://127.0.0.1:${server.addr.port}` }));
