import assert from "node:assert/strict";
import { holdFreedMemory } from "./native_heap.ts";

const linux = Deno.build.os === "linux";

/**
 * Runs in a fresh process, whose main thread allocates from glibc's main arena alone: allocates and
 * frees 16 MiB in blocks below the mmap threshold, newest first so that they merge into the arena's
 * top, and reports what free() left there (mallinfo2's keepcost), without a holder, with two, after
 * one of them let go (twice), and after the last. Prints null without glibc's mallinfo2 (2.33+).
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
console.log(JSON.stringify({ unheld, held, oneLeft, released, after: churn() }));
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
  },
});

/**
 * A hole in the middle of the main arena: 12 MiB written (resident), a block above it so that it
 * cannot join the top, then freed. A release that trims gives the hole's pages back (malloc_trim
 * madvises free chunks; free() never does), one with `trim` false keeps them. Prints the resident
 * MiB before and after the release.
 */
const HOLE_PROBE = (trim: boolean) => `
import { holdFreedMemory } from ${JSON.stringify(new URL("./native_heap.ts", import.meta.url).href)};
const heap = Deno.dlopen("libc.so.6", {
  malloc: { parameters: ["usize"], result: "pointer" },
  free: { parameters: ["pointer"], result: "void" },
}).symbols;
const resident = () => Number(Deno.readTextFileSync("/proc/self/statm").split(" ")[1]) * 4096 / 2 ** 20;
const release = holdFreedMemory();
const hole = Array.from({ length: 192 }, () => heap.malloc(65536n));
for (const block of hole) new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(block, 65536)).fill(7);
const guard = heap.malloc(65536n);
for (const block of hole) heap.free(block);
const before = resident();
release(${trim});
console.log(JSON.stringify({ before, after: resident(), guard: guard !== null }));
`;

Deno.test({
  name: "a release gives a freed hole's pages back with the trim, and keeps them without it",
  ignore: !linux,
  async fn() {
    const run = async (trim: boolean) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["eval", "--quiet", HOLE_PROBE(trim)],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      return JSON.parse(new TextDecoder().decode(out.stdout)) as { before: number; after: number };
    };
    const trimmed = await run(true);
    assert.ok(trimmed.before - trimmed.after >= 8, `trimmed: ${JSON.stringify(trimmed)} MiB`);
    const kept = await run(false);
    assert.ok(kept.before - kept.after < 4, `not trimmed: ${JSON.stringify(kept)} MiB`);
  },
});

Deno.test("holding and releasing never throws, wherever it runs", () => {
  const release = holdFreedMemory();
  release();
  release();
});
