/**
 * The mailbox: higher priority first, FIFO within a priority, the unqueued bypass, and one
 * handler at a time; as a unit with a fake delivery, and through a real host.
 */
import { type Message, toMessage } from "../../agents/message.ts";
import { Mailbox } from "../../host/kernel/mailbox.ts";
import { PagletError } from "../../agents/errors.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { eventually } from "../helpers/in_process.ts";
import { fixtureHost } from "./helpers.ts";

/** A mailbox whose deliveries wait until released; records the order of handling. */
function gatedMailbox(window = 1) {
  const handled: string[] = [];
  let running = 0;
  let maxRunning = 0;
  const gates: (() => void)[] = [];
  const mailbox = new Mailbox(async (message: Message) => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    handled.push(message.kind);
    await new Promise<void>((resolve) => gates.push(resolve));
    running--;
    return message.kind;
  }, window);
  /** Lets every handler finish, including those of messages handed out meanwhile. */
  const releaseAll = async () => {
    for (let spins = 0; (gates.length > 0 || mailbox.busy) && spins < 1000; spins++) {
      gates.shift()?.();
      await new Promise((r) => setTimeout(r, 0));
    }
  };
  return { mailbox, handled, releaseAll, maxRunning: () => maxRunning };
}

const msg = (kind: string, priority?: number) => toMessage({ kind, priority });

Deno.test("a mailbox hands out higher priorities first and keeps FIFO within a priority", async () => {
  const { mailbox, handled, releaseAll } = gatedMailbox();
  const replies = [
    mailbox.post(msg("first")), // taken at once: the handler is busy with it
    mailbox.post(msg("low-1", 1)),
    mailbox.post(msg("normal-1", 5)),
    mailbox.post(msg("high-1", 10)),
    mailbox.post(msg("normal-2", 5)),
    mailbox.post(msg("low-2", 1)),
    mailbox.post(msg("high-2", 10)),
    mailbox.post(msg("normal-3")),
  ];
  await releaseAll();
  assertEquals(await Promise.all(replies), [
    "first",
    "low-1",
    "normal-1",
    "high-1",
    "normal-2",
    "low-2",
    "high-2",
    "normal-3",
  ]);
  assertEquals(handled, ["first", "high-1", "high-2", "normal-1", "normal-2", "normal-3", "low-1", "low-2"]);
});

Deno.test("an unqueued message goes ahead of everything waiting but never interrupts a handler", async () => {
  const { mailbox, handled, releaseAll, maxRunning } = gatedMailbox();
  const replies = [
    mailbox.post(msg("running")),
    mailbox.post(msg("max", 10)),
    mailbox.post(msg("bypass-1", 0)),
    mailbox.post(msg("bypass-2", 0)),
  ];
  assertEquals(handled, ["running"]);
  await releaseAll();
  await Promise.all(replies);
  assertEquals(handled, ["running", "bypass-1", "bypass-2", "max"]);
  assertEquals(maxRunning(), 1);
});

Deno.test("a paused mailbox finishes its handler, holds the rest, and drains on request", async () => {
  const { mailbox, handled, releaseAll } = gatedMailbox();
  const first = mailbox.post(msg("a"));
  const second = mailbox.post(msg("b"));
  const paused = mailbox.pause();
  await releaseAll();
  await paused;
  assertEquals(await first, "a");
  assertEquals(handled, ["a"]);
  assertEquals(mailbox.queued, 1);
  const drained = mailbox.drain();
  assertEquals(drained.map((d) => d.message.kind), ["b"]);
  drained[0].resolve("rerouted");
  assertEquals(await second, "rerouted");
});

Deno.test("a windowed mailbox hands out up to its window in order and the rest as replies come back", async () => {
  const { mailbox, handled, releaseAll, maxRunning } = gatedMailbox(3);
  const replies = ["a", "b", "c", "d", "e"].map((kind) => mailbox.post(msg(kind)));
  assertEquals(handled, ["a", "b", "c"]);
  await releaseAll();
  assertEquals(await Promise.all(replies), ["a", "b", "c", "d", "e"]);
  assertEquals(handled, ["a", "b", "c", "d", "e"]);
  assertEquals(maxRunning(), 3);
  // Paused, it waits for every message handed out; drain returns the rest.
  const more = ["f", "g", "h", "i"].map((kind) => mailbox.post(msg(kind)));
  const paused = mailbox.pause();
  await releaseAll();
  await paused;
  assertEquals(await Promise.all(more.slice(0, 3)), ["f", "g", "h"]);
  assertEquals(mailbox.drain().map((d) => d.message.kind), ["i"]);
});

Deno.test("a message that comes back as agent_left waits in its place again", async () => {
  let first = true;
  const mailbox = new Mailbox((message) => {
    if (message.kind === "b" && first) {
      first = false;
      return Promise.reject(new PagletError("agent_left", "left"));
    }
    return Promise.resolve(message.kind);
  }, 4);
  const a = mailbox.post(msg("a"));
  void mailbox.post(msg("b"));
  // As in a transition: paused while both are out; "b" comes back unhandled and waits to be drained.
  const paused = mailbox.pause();
  assertEquals(await a, "a");
  await paused;
  assertEquals(mailbox.drain().map((d) => d.message.kind), ["b"]);
});

Deno.test("a failing delivery rejects its sender and the mailbox goes on", async () => {
  let n = 0;
  const mailbox = new Mailbox((message) => {
    n++;
    if (message.kind === "bad") throw new Error("bad message");
    return Promise.resolve(message.kind);
  });
  const bad = mailbox.post(msg("bad"));
  const good = mailbox.post(msg("good"));
  let error: unknown;
  await bad.catch((err) => error = err);
  assert(error instanceof Error && error.message === "bad message");
  assertEquals(await good, "good");
  assertEquals([n, mailbox.delivered, mailbox.failed], [2, 1, 1]);
});

Deno.test("a message whose sender's time ran out while it waited is not handed out: its sender gets timeout", async () => {
  const { mailbox, handled, releaseAll } = gatedMailbox();
  const first = mailbox.post(msg("first"));
  // Its sender stopped waiting.
  const gone = mailbox.post(msg("gone"), { deadline: performance.now() - 1 }).then(() => null, (err) => err);
  const oneway = mailbox.post(msg("oneway"), { deadline: performance.now() - 1, oneway: true });
  const later = mailbox.post(msg("later"), { deadline: performance.now() + 60_000 });
  await releaseAll();
  assertEquals(await first, "first");
  const error = await gone;
  assert(error instanceof PagletError && error.code === "timeout", String(error));
  assertEquals([await oneway, await later], ["oneway", "later"]);
  assertEquals(handled, ["first", "oneway", "later"]);
});

Deno.test("through a host, one handler runs at a time in priority order", async () => {
  await using h = await fixtureHost();
  const client = h.client;
  const { id } = await client.createAgent({ type: "kernel.recorder" });
  // The first handler holds the mailbox (it awaits a timer); the rest queue behind it.
  await client.send(id, { kind: "work", args: { tag: "block", ms: 400 } }, { oneway: true });
  await eventually("the blocking handler to start", async () => {
    const record = await client.getAgent(id);
    return (record.state as { trace: string[] }).trace.includes("start:block");
  });
  const sends: [string, number][] = [["low", 1], ["normal-1", 5], ["high", 10], ["normal-2", 5], [
    "bypass",
    0,
  ]];
  for (const [tag, priority] of sends) {
    await client.send(id, { kind: "work", args: { tag, ms: 5 }, priority }, { oneway: true });
  }
  const { trace } = await eventually("every handler to finish", async () => {
    const reply = await client.send(id, { kind: "trace", priority: 1 }) as { trace: string[] };
    return reply.trace.length === 12 ? reply : null;
  });
  const order = ["block", "bypass", "high", "normal-1", "normal-2", "low"];
  assertEquals(trace, order.flatMap((tag) => [`start:${tag}`, `end:${tag}`]));
  const record = await client.getAgent(id);
  assertEquals((record.mailbox as { busy: boolean; queued: number }).queued, 0);
});

Deno.test("messages handed to the worker behind a handler that deactivates its paglet are all answered", async () => {
  await using h = await fixtureHost();
  const { id } = await h.client.createAgent({ type: "kernel.context" });
  // The `log` messages reach the worker while `sleep` is busy (the mailbox's window) and wait there
  // behind it; its deactivation waits for them (a paglet leaves once its mailbox is idle).
  const [sleep, ...logs] = await Promise.all([
    h.client.send(id, { kind: "sleep", args: { seconds: 60, delayMs: 300 } }),
    ...Array.from({ length: 5 }, () => h.client.send(id, { kind: "log" })),
  ]);
  assertEquals(sleep, { sleeping: true });
  for (const reply of logs) assert(Array.isArray((reply as { log: unknown }).log), JSON.stringify(reply));
});

Deno.test("a message put back into an idle mailbox after its sender gave up is not handed out either", async () => {
  const handled: string[] = [];
  const mailbox = new Mailbox((message) => {
    handled.push(message.kind);
    return Promise.resolve(message.kind);
  });
  // What a restore after a lost worker, or a failed move, puts back: it waited meanwhile.
  const putBack = (kind: string, deadline: number) =>
    new Promise((resolve, reject) =>
      mailbox.putBack({ message: msg(kind), delivery: { deadline }, resolve, reject })
    );
  const late = putBack("late", performance.now() - 1).then(() => null, (err) => err);
  const fresh = putBack("fresh", performance.now() + 60_000);
  const error = await late;
  assert(error instanceof PagletError && error.code === "timeout", String(error));
  assertEquals([await fresh, handled], ["fresh", ["fresh"]]);
});
