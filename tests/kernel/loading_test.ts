/**
 * Code that never finishes loading, and a paglet that waits on itself, with real host processes:
 * a type module whose top level loops fails the host's start with
 * `module_load_failed`; a script's code that loops at its top level fails its upload the same way,
 * and the worker it wedged is replaced, its agents answering again; a paglet's send that names no
 * timeout gives up after the host's default instead of waiting for ever.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { paglets } from "../helpers/cli.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { tempDir } from "../helpers/temp.ts";
import { KERNEL_FIXTURES } from "../fixtures/kernel_paglets.ts";
import type { PagletError } from "../../agents/errors.ts";

const LOOPING = new URL("./fixtures/looping_module.ts", import.meta.url).href;
const LOOPING_SCRIPT = new URL("./fixtures/looping_script.ts", import.meta.url).pathname;
/** Loads get 2 s here (20 s by default). */
const QUICK_LOADS = { PAGLETS_MODULE_LOAD_TIMEOUT_MS: "2000" };

// Not a top-level await that never settles: Deno 2.9 at times resolves the import of such a module
// in a worker, and the start goes on; when it does not, the load fails as a loop's does.
Deno.test("a host whose type module loops at its top level fails to start with module_load_failed", async () => {
  const dir = await tempDir("paglets-looping-");
  const run = await paglets(
    ["host", "--name", "looping", "--port", "0", "--data-dir", dir, "--module", LOOPING],
    QUICK_LOADS,
  );
  assertEquals(run.code, 1, run.stderr);
  assert(/error \[module_load_failed\]: .*did not finish loading within 2 s/.test(run.stderr), run.stderr);
});

Deno.test("a script whose code loops at its top level fails its upload; the wedged worker is replaced", async () => {
  try {
    const host = await startHost({ name: "wedge", env: QUICK_LOADS, args: ["--workers", "1"] });
    const { id } = await host.client.createAgent({ type: "demo.counter" });
    assertEquals((await host.client.send(id, { kind: "increment" }) as { count: number }).count, 1);
    const run = await paglets(["run", LOOPING_SCRIPT, "--entry", host.url]);
    assertEquals(run.code, 1, run.stderr);
    assert(
      /error \[module_load_failed\]: Code .* did not finish loading within 2 s/.test(run.stderr),
      run.stderr,
    );
    // The agent that lived in the wedged worker answers from its new one, with its state.
    assertEquals((await host.client.send(id, { kind: "increment" }) as { count: number }).count, 2);
    const info = await host.client.request<{ abandonedWorkers: number }>("GET", "/v1/host");
    assertEquals(info.abandonedWorkers, 1, "the looping thread is counted");
  } finally {
    await stopAll();
  }
});

Deno.test("a paglet waiting on its own reply gives up after the default send timeout, then answers again", async () => {
  try {
    const host = await startHost({
      name: "self-wait",
      env: { PAGLETS_SEND_TIMEOUT_MS: "1000" },
      args: ["--module", KERNEL_FIXTURES],
    });
    const { id } = await host.client.createAgent({ type: "kernel.thrower" });
    const err = await host.client.send(id, { kind: "ask-myself" }).then(() => null, (e: PagletError) => e);
    assertEquals(err?.code, "timeout", err?.message);
    assert(err!.message.includes("did not reply to 'bump'"), err!.message);
    // The message it sent itself was handled after its handler gave up.
    assertEquals(await host.client.send(id, { kind: "bump" }), { n: 2 });
  } finally {
    await stopAll();
  }
});
