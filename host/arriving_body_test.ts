/**
 * A watched body fails once a read has waited its limit for bytes, cancelling the body, and is
 * never taken for complete then; the reader's own time between reads does not count.
 */
import { assert, assertEquals, assertRejectsCode } from "../tests/helpers/assert.ts";
import { sleep } from "../agents/timers.ts";
import { arrivingBody } from "./arriving_body.ts";

const LIMIT_MS = 100;
const bytes = (n: number) => new Uint8Array(n).fill(1);

Deno.test("a body that stops arriving fails its reads with timeout, cancelled, and is never complete", async () => {
  let cancelled = 0;
  let stalls = 0;
  // One chunk, then nothing, the body kept open: a sender that went quiet.
  let sent = false;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent) return new Promise<void>(() => {});
      sent = true;
      controller.enqueue(bytes(10));
    },
    cancel() {
      cancelled++;
    },
  }, { highWaterMark: 0 });
  const reader = arrivingBody(source, { limitMs: LIMIT_MS, what: "Upload", onStalled: () => stalls++ })
    .getReader();
  assertEquals((await reader.read()).value?.length, 10);
  const err = await assertRejectsCode(() => reader.read(), "timeout");
  assert(err.message.startsWith("Upload stopped arriving: nothing came for 0.1 s"), err.message);
  await assertRejectsCode(() => reader.read(), "timeout");
  assertEquals([stalls, cancelled], [1, 1]);
});

/** A body that sends one chunk, then nothing, kept open: a sender that went quiet. */
function quietAfterOne(onCancel: () => void = () => {}): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent) return new Promise<void>(() => {});
      sent = true;
      controller.enqueue(bytes(10));
    },
    cancel: onCancel,
  }, { highWaterMark: 0 });
}

Deno.test("once its `sooner` signal aborts, a body is given up after the shorter limit, the read waiting then included, saying why", async () => {
  let cancelled = 0;
  let stalls = 0;
  const newer = new AbortController();
  const reader = arrivingBody(quietAfterOne(() => cancelled++), {
    limitMs: 3_600_000,
    what: "Transfer",
    onStalled: () => stalls++,
    sooner: { signal: newer.signal, limitMs: LIMIT_MS },
  }).getReader();
  assertEquals((await reader.read()).value?.length, 10);
  const waiting = reader.read();
  newer.abort("a newer attempt of it arrived");
  const err = await assertRejectsCode(() => waiting, "timeout");
  assertEquals(
    err.message,
    "Transfer stopped arriving: nothing came for 0.1 s; a newer attempt of it arrived",
  );
  await assertRejectsCode(() => reader.read(), "timeout");
  assertEquals([stalls, cancelled], [1, 1]);
});

Deno.test("a body that keeps moving is not given up when its `sooner` signal aborts", async () => {
  const newer = new AbortController();
  let n = 0;
  // Ten chunks, each a tenth of the shorter limit after the one before: the scenario's pace.
  const moving = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (n === 10) return controller.close();
      if (n > 0) await sleep(LIMIT_MS / 10);
      controller.enqueue(bytes(++n));
    },
  }, { highWaterMark: 0 });
  const body = arrivingBody(moving, {
    limitMs: 3_600_000,
    what: "Transfer",
    sooner: { signal: newer.signal, limitMs: 10 * LIMIT_MS },
  });
  const got: number[] = [];
  for await (const chunk of body) {
    got.push(chunk.length);
    if (got.length === 2) newer.abort("a newer attempt of it arrived");
  }
  assertEquals(got, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

Deno.test("after its `sooner` signal aborts during a read, the later reads each get the whole shorter limit", async () => {
  const SHORT_MS = 500;
  const newer = new AbortController();
  let n = 0;
  // The second chunk comes 0.75 of the shorter limit after the first, the signal aborting half-way
  // (that read has the rest of the limit: a quarter); the next ones 0.6 of it apart, longer than
  // that rest and well within the limit (the scenario's pace).
  const moving = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (n === 6) return controller.close();
      if (n === 1) await sleep(SHORT_MS * 0.75);
      else if (n > 1) await sleep(SHORT_MS * 0.6);
      controller.enqueue(bytes(++n));
    },
  }, { highWaterMark: 0 });
  const body = arrivingBody(moving, {
    limitMs: 3_600_000,
    what: "Transfer",
    sooner: { signal: newer.signal, limitMs: SHORT_MS },
  });
  const got: number[] = [];
  for await (const chunk of body) {
    got.push(chunk.length);
    if (got.length === 1) setTimeout(() => newer.abort("a newer attempt of it arrived"), SHORT_MS / 2);
  }
  assertEquals(got, [1, 2, 3, 4, 5, 6]);
});

Deno.test("a reader slower than the limit between its reads is not given up: only a read's wait counts", async () => {
  const chunks = [bytes(1), bytes(2), bytes(3)];
  const body = arrivingBody(ReadableStream.from(chunks), { limitMs: LIMIT_MS, what: "Upload" });
  const got: number[] = [];
  for await (const chunk of body) {
    got.push(chunk.length);
    // The reader's own work (a slow disk), three limits long: the scenario, not a wait for a condition.
    await sleep(3 * LIMIT_MS);
  }
  assertEquals(got, [1, 2, 3]);
});

Deno.test("a body's own failure and a cancel pass through the watch", async () => {
  const broken = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.error(new TypeError("connection reset"));
    },
  });
  const failed = await arrivingBody(broken, { limitMs: LIMIT_MS, what: "Upload" }).getReader().read()
    .then(() => null, (err: Error) => err);
  assert(failed instanceof TypeError && failed.message === "connection reset", String(failed));

  let reason: unknown;
  const unread = new ReadableStream<Uint8Array>({ cancel: (why) => void (reason = why) });
  await arrivingBody(unread, { limitMs: LIMIT_MS, what: "Upload" }).cancel("not wanted");
  assertEquals(reason, "not wanted");
});

Deno.test("a limit that is not a positive number is refused, naming it", () => {
  const body = new ReadableStream<Uint8Array>();
  const signal = new AbortController().signal;
  for (const limitMs of [0, -1, NaN, Infinity]) {
    for (
      const [name, options] of [
        ["limitMs", { limitMs, what: "Upload" }],
        ["sooner.limitMs", { limitMs: LIMIT_MS, what: "Upload", sooner: { signal, limitMs } }],
      ] as const
    ) {
      let thrown: unknown;
      try {
        arrivingBody(body, options);
      } catch (err) {
        thrown = err;
      }
      assert(thrown instanceof RangeError && thrown.message.includes(`'${name}'`), String(thrown));
    }
  }
});
