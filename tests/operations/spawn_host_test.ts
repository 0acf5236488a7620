/**
 * scripts/spawn_host.ts, which the soak test and the benchmarks start their servers with: it reads
 * the URL a child prints, even when the line arrives in pieces, and a child that prints nothing is
 * killed at the deadline instead of hanging its caller.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { spawnPrintingUrl } from "../../scripts/spawn_host.ts";

function evalArgs(code: string): string[] {
  return ["eval", "--quiet", code];
}

Deno.test("spawnPrintingUrl reads a URL line that arrives in pieces", async () => {
  // Half a line, a pause the parent sees as a read of its own, then the rest.
  const code = `
    const out = (s) => Deno.stdout.writeSync(new TextEncoder().encode(s));
    out("starting\\n{\\"url\\": \\"http://127.");
    await new Promise((r) => setTimeout(r, 200));
    out("0.0.1:9\\"}\\n");
    await new Promise((r) => setTimeout(r, 60000));`;
  const { child, url } = await spawnPrintingUrl(Deno.execPath(), evalArgs(code), { timeoutMs: 20_000 });
  try {
    assertEquals(url, "http://127.0.0.1:9");
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
});

Deno.test("spawnPrintingUrl gives up on a silent child at its deadline and kills it", async () => {
  const code = `await new Promise((r) => setTimeout(r, 60000));`;
  const started = Date.now();
  const error = await spawnPrintingUrl(Deno.execPath(), evalArgs(code), { timeoutMs: 1_000 }).then(
    () => null,
    (err: Error) => err,
  );
  assert(error?.message.includes("printed no URL within 1000 ms"), String(error));
  // Ended by the deadline, not by the child's own end 60 s later: it was killed.
  const waited = Date.now() - started;
  assert(waited < 30_000, `waited ${waited} ms`);
});
