import { assert, assertEquals } from "../../tests/helpers/assert.ts";
import { digitBytes, digitText, joinDigits, NO_DIGITS, withDigitBytes } from "./digit_bytes.ts";

Deno.test("digits as bytes: shared memory, text both ways, joined in order", () => {
  const bytes = digitBytes("3.14159");
  assert(bytes.buffer instanceof SharedArrayBuffer);
  assertEquals(digitText(bytes), "3.14159");
  const joined = joinDigits([bytes, digitBytes("26535"), digitBytes("")]);
  assert(joined.buffer instanceof SharedArrayBuffer);
  assertEquals(digitText(joined), "3.1415926535");
  assertEquals(joinDigits([bytes]), bytes);
  assertEquals(digitText(joinDigits([])), "");
  assert(digitBytes("") === NO_DIGITS); // no shared memory for no digits
  let refused: unknown;
  try {
    digitBytes("é3");
  } catch (err) {
    refused = err;
  }
  assert(refused instanceof RangeError && refused.message.includes("ASCII"));
  assertEquals(withDigitBytes({ text: "58979", emitted: 15, prefixTerms: 2, done: false }).digits.length, 5);
});

Deno.test("digits as bytes cross to another thread without a copy", async () => {
  const worker = new Worker(
    `data:application/javascript,${encodeURIComponent("self.onmessage = (e) => self.postMessage(e.data);")}`,
    { type: "module" },
  );
  try {
    const bytes = digitBytes("3.1415926535");
    const back = await new Promise<Uint8Array>((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(e.error ?? new Error(e.message));
      worker.postMessage(bytes);
    });
    // The same memory came back: a write on one side shows on the other (never done with real digits).
    bytes[0] = "4".charCodeAt(0);
    assertEquals(digitText(back), "4.1415926535");
  } finally {
    worker.terminate();
  }
});
