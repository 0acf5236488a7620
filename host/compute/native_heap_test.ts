import assert from "node:assert/strict";
import { holdFreedMemory } from "./native_heap.ts";

const linux = Deno.build.os === "linux";

/**
 * Runs in a fresh process, whose main thread allocates from glibc's main arena alone: allocates and
 * frees 16 MiB in blocks below the mmap threshold, newest first so that they merge into the arena's
 * top, and reports what free() left there (mallinfo2's keepcost), without a holder, with two, after
 * one of them let go (twice), and after the last; then with a holder let go without the trim (the
 * process is about to end), after which free() trims by glibc's default again. Prints null without
 * glibc's mallinfo2 (2.33+).
 */
const PROBE = `
import { holdFreedMemory } from ${JSON.stringify(new URL("./native_heap.ts", import.meta.url).href)};
let heap;
try {
  heap = Deno.dlopen("libc.so.6", {
    malloc: { parameters: ["usize"], result: "pointer" },
    free: { parameters: ["pointer"], result: "void" },
    mallinfo2: { parameters: [], result: { struct: new Array(10).fill("usize") } },
  }).symbols;
} catch {
  console.log("null");
  Deno.exit(0);
}
const top = () => Number(new BigUint64Array(heap.mallinfo2().buffer)[9]);
const churn = () => {
  const blocks = Array.from({ length: 256 }, () => heap.malloc(65536n));
  if (blocks.some((b) => b === null)) throw new Error("malloc failed");
  for (const b of blocks.reverse()) heap.free(b);
  return top();
};
const unheld = churn();
const first = holdFreedMemory();
const second = holdFreedMemory();
const held = churn();
first();
first();
const oneLeft = churn();
second();
const released = top();
const after = churn();
const third = holdFreedMemory();
const heldAgain = churn();
third(false);
console.log(JSON.stringify({ unheld, held, oneLeft, released, after, heldAgain, afterUntrimmed: churn() }));
`;

Deno.test({
  name: "while held, the heap keeps freed memory at its top; the last release gives it back",
  ignore: !linux,
  async fn() {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--quiet", PROBE],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const kept = JSON.parse(new TextDecoder().decode(out.stdout));
    if (kept === null) return; // not glibc 2.33+: nothing to observe
    const churned = 16 << 20;
    assert.ok(kept.unheld < churned / 4, `without a holder free() trims the top: ${kept.unheld}`);
    assert.ok(kept.held >= churned, `held, the freed 16 MiB stay: ${kept.held}`);
    assert.ok(
      kept.oneLeft >= churned,
      `one holder left (the other let go twice), still kept: ${kept.oneLeft}`,
    );
    assert.ok(kept.released < churned / 4, `the last release trims what was kept: ${kept.released}`);
    assert.ok(kept.after < churned / 4, `then free() trims again: ${kept.after}`);
    assert.ok(kept.heldAgain >= churned, `held again, kept again: ${kept.heldAgain}`);
    // What is kept is not observed right after a release without the trim: any free() on that heap
    // (Deno's own, between two calls here) trims its top once the default is back.
    assert.ok(
      kept.afterUntrimmed < churned / 4,
      `let go without the trim, the default is back: ${kept.afterUntrimmed}`,
    );
  },
});

Deno.test("holding and releasing never throws, wherever it runs", () => {
  const release = holdFreedMemory();
  release();
  release();
});
