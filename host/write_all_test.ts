import assert from "node:assert/strict";
import { assertEquals } from "../tests/helpers/assert.ts";
import { writeAll } from "./write_all.ts";

Deno.test("writeAll writes every byte through a writer that takes a few at a time", async () => {
  const taken: number[] = [];
  const calls: number[] = [];
  const writer = {
    write(bytes: Uint8Array) {
      const n = Math.min(3, bytes.length);
      calls.push(bytes.length);
      taken.push(...bytes.subarray(0, n));
      return Promise.resolve(n);
    },
  };
  const bytes = Uint8Array.from({ length: 10 }, (_, i) => i);
  await writeAll(writer, bytes);
  assertEquals(taken, [...bytes]);
  assertEquals(calls, [10, 7, 4, 1]);
  await writeAll(writer, new Uint8Array());
  assertEquals(calls.length, 4); // nothing to write: no call
});

Deno.test("writeAll writes a real file whole", async () => {
  const path = await Deno.makeTempFile();
  try {
    const bytes = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    const file = await Deno.open(path, { write: true, truncate: true });
    try {
      await writeAll(file, bytes);
    } finally {
      file.close();
    }
    assertEquals(await Deno.readFile(path), bytes);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("writeAll fails on a writer that takes nothing instead of looping", async () => {
  const stuck = { write: () => Promise.resolve(0) };
  await assert.rejects(
    () => writeAll(stuck, new Uint8Array(5)),
    (err: Error) => err instanceof Deno.errors.WriteZero && /5 left/.test(err.message),
  );
});
