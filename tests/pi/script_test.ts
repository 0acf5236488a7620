/** The programmatic example of docs/examples/pi.md runs as documented. */
import { assert, assertEquals } from "../helpers/assert.ts";

Deno.test("examples/pi/script.ts starts a job through the typed operations and reads its summary", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      "--config",
      new URL("../../deno.json", import.meta.url).pathname,
      "examples/pi/script.ts",
      "3000",
    ],
    cwd: new URL("../../", import.meta.url).pathname,
    env: { NO_COLOR: "1", PAGLETS_ENTRY: "" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  assert(/^job pi-\w+ runs on http:\/\//.test(text), text);
  assert(text.includes("done: 3000 digits"), text);
  assert(text.includes("3.14159265358979323846264338327950288419716939937"), text);
});
