/**
 * A start's hook that never finishes (onCreation, onActivation), with real host processes: the
 * start fails with `timeout` after the hook's deadline (`PAGLETS_HOOK_TIMEOUT_MS`, 1 s here), the
 * instance leaves its worker, and nothing is left half-made: the id can be created again, an
 * inactive paglet can be disposed, and a worker left looping in a hook is replaced.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { KERNEL_FIXTURES } from "../fixtures/kernel_paglets.ts";
import type { PagletError } from "../../agents/errors.ts";

const failure = (p: Promise<unknown>) => p.then(() => null, (err: PagletError) => err);

function start(name: string) {
  return startHost({
    name,
    env: { PAGLETS_HOOK_TIMEOUT_MS: "1000" },
    args: ["--module", KERNEL_FIXTURES, "--workers", "1"],
  });
}

Deno.test("an onCreation that never settles fails the create with timeout, and leaves nothing behind", async () => {
  try {
    const host = await start("hang-create");
    const err = await failure(
      host.client.createAgent({
        type: "kernel.thrower",
        id: "ag_hangingcreation00001",
        state: { hangOn: "creation" },
      }),
    );
    assertEquals(err?.code, "timeout", err?.message);
    assert(
      err!.message.includes("onCreation of ag_hangingcreation00001 did not finish within 1 s"),
      err!.message,
    );
    assertEquals((await failure(host.client.getAgent("ag_hangingcreation00001")))?.code, "agent_not_found");
    // The id is free again, and the worker serves.
    const again = await host.client.createAgent({ type: "kernel.thrower", id: "ag_hangingcreation00001" });
    assertEquals(await host.client.send(again.id, { kind: "bump" }), { n: 1 });
  } finally {
    await stopAll();
  }
});

Deno.test("an onCreation in a loop: the create fails with timeout and the worker is replaced", async () => {
  try {
    const host = await start("loop-create");
    const { id } = await host.client.createAgent({ type: "kernel.thrower" });
    assertEquals(await host.client.send(id, { kind: "bump" }), { n: 1 });
    const err = await failure(
      host.client.createAgent({ type: "kernel.thrower", state: { hangOn: "creation-loop" } }),
    );
    assertEquals(err?.code, "timeout", err?.message);
    // The paglet that shared the looping worker answers from the new one, with its state.
    assertEquals(await host.client.send(id, { kind: "bump" }), { n: 2 });
    const info = await host.client.request<{ abandonedWorkers: number }>("GET", "/v1/host");
    assertEquals(info.abandonedWorkers, 1);
  } finally {
    await stopAll();
  }
});

Deno.test("an onActivation that never settles fails the activation with timeout; the paglet can be disposed", async () => {
  try {
    const host = await start("hang-activate");
    const { id } = await host.client.createAgent({ type: "kernel.thrower" });
    assertEquals(await host.client.send(id, { kind: "hang-on", args: { hook: "activation" } }), { ok: true });
    await host.client.deactivate(id);
    const err = await failure(host.client.send(id, { kind: "bump" }));
    assertEquals(err?.code, "timeout", err?.message);
    assertEquals((await host.client.getAgent(id)).status, "inactive");
    await host.client.dispose(id);
    assertEquals((await failure(host.client.getAgent(id)))?.code, "agent_not_found");
  } finally {
    await stopAll();
  }
});
