/**
 * Digits on their way out of the assembly: ASCII bytes in shared memory. The assembly (on a pi
 * thread) emits them, the pi-math service (kernel thread) keeps them until the post-processor (an
 * agent worker) collects them and writes them to its file, and the coordinator (an agent worker)
 * keeps them until a drain takes them as text. Four thread hops: a string of a million digits cost
 * each hop a copy and fresh memory (about 6 ms here, most of it page faults); bytes in a
 * SharedArrayBuffer cross as a reference (about 0.3 ms) and are written to a file as they are.
 * Nobody changes them once made.
 *
 * @module
 */
import type { AssemblyUpdate } from "./assembly.ts";

/** What an assembly emitted, with its digits as bytes (the post-processor's `pi.fragment` answer). */
export type DigitsUpdate = Omit<AssemblyUpdate, "text"> & {
  /** New digits as ASCII ("3." first at position 0); empty when nothing new is certain. */
  digits: Uint8Array;
};

/** No digits (what a collect with nothing emitted answers). */
export const NO_DIGITS: Uint8Array = new Uint8Array(0);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `text` (digits and ".", one byte each) as bytes in shared memory; {@link NO_DIGITS} for none. */
export function digitBytes(text: string): Uint8Array {
  if (text.length === 0) return NO_DIGITS;
  const bytes = new Uint8Array(new SharedArrayBuffer(text.length));
  // A character beyond ASCII takes more than one byte, so the text cannot all fit.
  if (encoder.encodeInto(text, bytes).read !== text.length) throw new RangeError("Pi digits must be ASCII");
  return bytes;
}

/** The digits of `chunks` in order, in one piece (the piece itself when there is one, NO_DIGITS for none). */
export function joinDigits(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 0) return NO_DIGITS;
  if (chunks.length === 1) return chunks[0];
  const joined = new Uint8Array(new SharedArrayBuffer(chunks.reduce((n, c) => n + c.length, 0)));
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.length;
  }
  return joined;
}

/** The digits as text. */
export function digitText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** `update` with its text as bytes. */
export function withDigitBytes({ text, ...counters }: AssemblyUpdate): DigitsUpdate {
  return { ...counters, digits: digitBytes(text) };
}
