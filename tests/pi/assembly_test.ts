import { assert, assertEquals } from "../helpers/assert.ts";
import nodeAssert from "node:assert/strict";
import { formatDigits, PiAssembly, type TermFragment } from "../../examples/pi/assembly.ts";
import { batchRanges, splitPoint, splitTerms, termsForDigits } from "../../examples/pi/chudnovsky.ts";
import { planWindow } from "../../examples/pi/digits.ts";
import { rightRatio } from "../../examples/pi/halves.ts";
import { runTask } from "../../examples/pi/tasks.ts";
import { PiWorkerPool } from "../../examples/pi/worker_pool.ts";
import { referencePi } from "../../examples/pi/testing_reference.ts";

/** The fragments of a job cut into batches of `size` terms, as batch workers would send them. */
function fragments(start: number, digits: number, size: number): TermFragment[] {
  const terms = termsForDigits(start, digits);
  const bits = planWindow(terms, start, digits).bits;
  return batchRanges(terms, size).map(({ a, b }) => {
    const sums = splitTerms(a, b, b < terms);
    return {
      a,
      b,
      sums,
      ratio: b === terms && a > 0 ? { bits, value: rightRatio(sums, bits, a) } : undefined,
    };
  });
}

async function assemble(
  start: number,
  digits: number,
  parts: TermFragment[],
  options: { chunk?: number; helper?: PiWorkerPool } = {},
): Promise<{ text: string; emissions: string[] }> {
  const terms = parts.reduce((n, f) => Math.max(n, f.b), 0);
  const assembly = new PiAssembly({ start, digits, terms, chunk: options.chunk ?? 100 }, options.helper);
  const emissions: string[] = [];
  const lastBatch = parts.reduce((m, f) => Math.max(m, f.a), 0);
  for (const f of parts) {
    const update = await assembly.add(f, lastBatch);
    assembly.prepare();
    if (update.text) emissions.push(update.text);
  }
  assert(assembly.done, "every digit emitted");
  return { text: emissions.join(""), emissions };
}

Deno.test("batches of one term each, in order, give the digits of `pi` and stream before the end", async () => {
  const ref = await referencePi(1000);
  const { text, emissions } = await assemble(0, 1000, fragments(0, 1000, 1));
  assertEquals(text, formatDigits(0, ref));
  assert(emissions.length > 2, `streamed in ${emissions.length} pieces`);
});

Deno.test("an uneven last batch and fragments in any order give the same digits", async () => {
  const ref = await referencePi(2000);
  const parts = fragments(0, 2000, 10); // 144 terms: the last batch has 4
  assertEquals(parts.at(-1)!.b - parts.at(-1)!.a, 4);
  const shuffled = [...parts].sort((x, y) => ((x.a * 7919) % 97) - ((y.a * 7919) % 97));
  assertEquals((await assemble(0, 2000, shuffled)).text, formatDigits(0, ref));
});

Deno.test("a window away from the start equals the same slice of a full run", async () => {
  const ref = await referencePi(6000);
  const { text } = await assemble(4321, 1500, fragments(4321, 1500, 40));
  assertEquals(text, ref.slice(4321, 5821));
});

Deno.test("two halves finished on two threads give 200,000 digits of `pi`, the first ones early", async () => {
  const ref = await referencePi(200_000);
  const helper = new PiWorkerPool(1);
  try {
    const terms = termsForDigits(0, 200_000);
    const { text, emissions } = await assemble(0, 200_000, fragments(0, 200_000, Math.ceil(terms * 0.4)), {
      chunk: 8192,
      helper,
    });
    assertEquals(text, formatDigits(0, ref));
    assertEquals(emissions[0].length, 8193, "the first batch streams one chunk");
  } finally {
    helper.close();
  }
});

Deno.test("a first batch that brings its left part of the end gives the same digits; a misplaced one is refused", async () => {
  const ref = await referencePi(50_000);
  const terms = termsForDigits(0, 50_000);
  const bits = planWindow(terms, 0, 50_000).bits;
  const m = splitPoint(0, terms, 0.35);
  // As the pi-math threads compute them: the first batch with its left part, the last with its ratio.
  const first = runTask({ op: "splitWithLeft", m, bits });
  const last = runTask({ op: "splitWithRatio", a: m, b: terms, withP: false, bits });
  assertEquals(first.left.m, m);
  const parts: TermFragment[] = [
    { a: 0, b: m, sums: first.sums, left: first.left },
    { a: m, b: terms, sums: last.sums, ratio: { bits, value: last.ratio } },
  ];
  assertEquals((await assemble(0, 50_000, parts)).text, formatDigits(0, ref));
  const assembly = new PiAssembly({ start: 0, digits: 50_000, terms, chunk: 100 });
  await nodeAssert.rejects(
    () => assembly.add({ a: m, b: terms, sums: last.sums, left: first.left }),
    /The left part of \[0, \d+\) came with the term range/,
  );
});

Deno.test("flush emits every digit the contiguous prefix makes certain, and only those", async () => {
  const ref = await referencePi(3000);
  const parts = fragments(0, 3000, 20);
  const assembly = new PiAssembly({ start: 0, digits: 3000, terms: parts.at(-1)!.b, chunk: 10 });
  let text = "";
  for (const f of parts.slice(0, 5)) text += (await assembly.add(f)).text;
  text += (await assembly.flush()).text;
  // 100 terms decide about 1,400 digits.
  assert(text.length > 1300 && text.length < 1500, `flushed to ${text.length}`);
  assertEquals(text, formatDigits(0, ref).slice(0, text.length));
});
