/**
 * The bare Hono echo route and the floor (echo_hop.ts) in a process of their own: the references of
 * scripts/bench/throughput.ts, message_cpu.ts and http_message.ts. Prints `{"url": ...}` once it
 * listens.
 */
import { startEchoServer } from "./echo_hop.ts";

console.log(JSON.stringify({ url: startEchoServer().url }));
