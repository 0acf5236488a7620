/**
 * An artifact's upload and download pause at most their stall limit and have no limit on their
 * whole length: a transfer that keeps moving runs past the limit, one that stands still ends, and
 * time the client's process was suspended is no pause.
 */
import { assert, assertEquals, assertRejectsCode } from "../../tests/helpers/assert.ts";
import { eventually } from "../../tests/helpers/in_process.ts";
import { tempDir } from "../../tests/helpers/temp.ts";
import { HostClient } from "../client.ts";
import { ArtifactClient } from "./client.ts";

const ID = "0123456789abcdef0123456789abcdef";
const PIECE = new Uint8Array(1000).fill(7);

/** A server that sends an artifact of ten pieces, 100 ms apart, or stops for good after the first. */
async function slowServer(stop: boolean) {
  const whole = new Uint8Array(10 * PIECE.length).fill(7);
  const sha256 = [...new Uint8Array(await crypto.subtle.digest("SHA-256", whole))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  let sent = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () =>
    new Response(
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent === 10) return controller.close();
          if (sent > 0) await new Promise((resolve) => setTimeout(resolve, stop ? 60_000 : 100));
          controller.enqueue(PIECE);
          sent++;
        },
      }),
      { headers: { "x-sha256": sha256, "content-length": String(whole.length) } },
    ));
  return {
    client: new ArtifactClient(new HostClient(`http://127.0.0.1:${server.addr.port}`, { timeoutMs: 300 })),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("a download that keeps moving runs past its stall limit; one that stands still ends with timeout", async () => {
  const dir = await tempDir("paglets-test-artifact-stall-");
  {
    await using slow = await slowServer(false);
    // About 0.9 s in all against a pause limit of 0.3 s.
    const got = await slow.client.download(ID, `${dir}/moving`, { stallMs: 300 });
    assertEquals(got.size, 10 * PIECE.length);
  }
  {
    await using stuck = await slowServer(true);
    const err = await assertRejectsCode(
      () => stuck.client.download(ID, `${dir}/stuck`, { stallMs: 300 }),
      "timeout",
    );
    assert(err.message.includes("moved no byte for 0.3 s"), err.message);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["moving"], "no .part file is left");
  }
});

Deno.test("a download whose process is suspended past its stall limit while it waits for the answer goes on when it resumes", async () => {
  const dir = await tempDir("paglets-test-artifact-suspended-");
  const bytes = new TextEncoder().encode("the artifact");
  const sha256 = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  let asked = false;
  const { promise: answer, resolve: release } = Promise.withResolvers<void>();
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    asked = true;
    await answer;
    return new Response(bytes, { headers: { "x-sha256": sha256 } });
  });
  const client = new ArtifactClient(new HostClient(`http://127.0.0.1:${server.addr.port}`));
  const download = client.download(ID, `${dir}/got`, { stallMs: 200 });
  await eventually("the host has the request", () => asked);
  // Nothing runs for three stall limits, as in a process stopped with SIGSTOP or Ctrl-Z.
  const until = performance.now() + 600;
  while (performance.now() < until) { /* suspended */ }
  release();
  assertEquals((await download).size, bytes.length);
});

Deno.test("a stall limit that is not a positive number is refused as invalid_request naming stallMs, before anything is sent", async () => {
  const dir = await tempDir("paglets-test-artifact-stall-limit-");
  const file = `${dir}/up.bin`;
  await Deno.writeFile(file, PIECE);
  let requests = 0;
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    requests++;
    return new Response("{}");
  });
  const client = new ArtifactClient(new HostClient(`http://127.0.0.1:${server.addr.port}`));
  for (const stallMs of [0, -5, NaN, Infinity]) {
    for (
      const run of [
        () => client.upload(file, { stallMs }),
        () => client.download(ID, `${dir}/down`, { stallMs }),
      ]
    ) {
      const err = await assertRejectsCode(run, "invalid_request");
      assert(err.message.includes(`'stallMs' must be a positive number of milliseconds`), err.message);
      assert(err.message.endsWith(`got ${stallMs}`), err.message);
    }
  }
  assertEquals(requests, 0);
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["up.bin"], "nothing was written");
});
