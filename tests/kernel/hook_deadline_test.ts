/**
 * A lifecycle hook that never finishes, with real host processes.
 *
 * A start's hook (onCreation, onActivation): the start fails with `timeout` after the hook's
 * deadline (`PAGLETS_HOOK_TIMEOUT_MS`, 1 s here), the instance leaves its worker, and nothing is
 * left half-made: the id can be created again, an inactive paglet can be disposed, and a worker
 * left looping in a hook is replaced.
 *
 * A departure's hook (onDeactivating, onDispatching): the deactivation or the move fails with
 * `timeout`, and the paglet stays active where it was, with its state, and serves.
 *
 * onDisposing: a disposal is final. The hook has the same deadline (at most 10 s); past it the
 * paglet is disposed all the same (a `worker-error` event says so), and its worker is replaced only
 * when it loops.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { eventsOf, KERNEL_FIXTURES } from "./helpers.ts";
import type { PagletError } from "../../agents/errors.ts";
import type { HostClient } from "../../host/client.ts";

const failure = (p: Promise<unknown>) => p.then(() => null, (err: PagletError) => err);

function start(name: string, hookTimeoutMs = 1000) {
  return startHost({
    name,
    env: { PAGLETS_HOOK_TIMEOUT_MS: String(hookTimeoutMs) },
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

Deno.test("an onDeactivating that never settles fails the deactivation with timeout; the paglet stays and serves", async () => {
  try {
    const host = await start("hang-deactivate");
    const { id } = await host.client.createAgent({ type: "kernel.thrower" });
    assertEquals(await host.client.send(id, { kind: "bump" }), { n: 1 });
    assertEquals(await host.client.send(id, { kind: "hang-on", args: { hook: "deactivating" } }), {
      ok: true,
    });
    const deactivation = failure(host.client.deactivate(id));
    await eventually(
      "the deactivation is under way",
      async () => (await host.client.getAgent(id) as { transition?: string }).transition === "deactivate",
    );
    // A message that waits behind it gets its own timeout in all, and is not delivered after it.
    const waited = await failure(host.client.send(id, { kind: "bump" }, { timeoutMs: 200 }));
    assertEquals(waited?.code, "timeout", waited?.message);
    assert(waited!.message.includes("the message was not delivered"), waited!.message);
    const err = await deactivation;
    assertEquals(err?.code, "timeout", err?.message);
    assert(err!.message.includes(`onDeactivating of ${id} did not finish within 1 s`), err!.message);
    assertEquals((await host.client.getAgent(id)).status, "active");
    assertEquals(await host.client.send(id, { kind: "bump" }), { n: 2 });
    // Once its hook lets it, it deactivates.
    assertEquals(await host.client.send(id, { kind: "hang-on", args: { hook: "" } }), { ok: true });
    await host.client.deactivate(id);
    assertEquals((await host.client.getAgent(id)).status, "inactive");
    assertEquals(await host.client.send(id, { kind: "bump" }), { n: 3 });
  } finally {
    await stopAll();
  }
});

Deno.test("an onDeactivating in a loop: the deactivation fails with timeout, the worker is replaced, both paglets serve", async () => {
  try {
    const host = await start("loop-deactivate");
    const { id: other } = await host.client.createAgent({ type: "kernel.thrower" });
    assertEquals(await host.client.send(other, { kind: "bump" }), { n: 1 });
    const { id } = await host.client.createAgent({ type: "kernel.thrower" });
    assertEquals(await host.client.send(id, { kind: "hang-on", args: { hook: "deactivating-loop" } }), {
      ok: true,
    });
    const err = await failure(host.client.deactivate(id));
    assertEquals(err?.code, "timeout", err?.message);
    assertEquals((await host.client.getAgent(id)).status, "active");
    assertEquals(await host.client.send(id, { kind: "bump" }), { n: 1 });
    assertEquals(await host.client.send(other, { kind: "bump" }), { n: 2 });
    const info = await host.client.request<{ abandonedWorkers: number }>("GET", "/v1/host");
    assertEquals(info.abandonedWorkers, 1);
  } finally {
    await stopAll();
  }
});

Deno.test("an onDispatching that never settles fails the move with timeout; the paglet stays at its source", async () => {
  try {
    const [a, b] = await Promise.all([start("hang-dispatch-a"), start("hang-dispatch-b")]);
    const { id } = await a.client.createAgent({ type: "kernel.thrower" });
    assertEquals(await a.client.send(id, { kind: "hang-on", args: { hook: "dispatching" } }), { ok: true });
    const err = await failure(a.client.dispatch(id, b.url));
    assertEquals(err?.code, "timeout", err?.message);
    assert(err!.message.includes(`onDispatching of ${id} did not finish within 1 s`), err!.message);
    assertEquals((await a.client.getAgent(id)).status, "active");
    assertEquals(await a.client.send(id, { kind: "bump" }), { n: 1 });
    assertEquals((await failure(b.client.getAgent(id)))?.code, "agent_not_found");
    // Once its hook lets it, it moves.
    assertEquals(await a.client.send(id, { kind: "hang-on", args: { hook: "" } }), { ok: true });
    await a.client.dispatch(id, b.url);
    assertEquals(await b.client.send(id, { kind: "bump" }), { n: 2 });
  } finally {
    await stopAll();
  }
});

Deno.test("an onDeactivating that finishes after its deadline leaves the paglet started again in place", async () => {
  const mark = await Deno.makeTempFile();
  await Deno.remove(mark);
  try {
    const host = await start("late-deactivate");
    const { id } = await host.client.createAgent({ type: "kernel.thrower" });
    assertEquals(await host.client.send(id, { kind: "hang-on", args: { hook: "deactivating-late", mark } }), {
      ok: true,
    });
    const err = await failure(host.client.deactivate(id));
    assertEquals(err?.code, "timeout", err?.message);
    // The old instance's hook finishes now; the instance started in its place goes on.
    await eventually("the late hook finished", () => Deno.stat(mark).then(() => true, () => false));
    assertEquals(await host.client.send(id, { kind: "bump" }), { n: 1 });
    assertEquals((await host.client.getAgent(id)).status, "active");
  } finally {
    await stopAll();
    await Deno.remove(mark).catch(() => {});
  }
});

async function abandonedWorkers(client: HostClient): Promise<number> {
  return (await client.request<{ abandonedWorkers: number }>("GET", "/v1/host")).abandonedWorkers;
}

async function workerErrors(client: HostClient): Promise<string[]> {
  return (await eventsOf(client, "worker-error")).map((e) => String(e.data?.error));
}

Deno.test("an onDisposing that takes longer than a second is waited for: the worker and its other paglet stay", async () => {
  const mark = await Deno.makeTempFile();
  await Deno.remove(mark);
  try {
    const host = await start("slow-dispose", 10_000);
    const { id: other } = await host.client.createAgent({ type: "kernel.thrower" });
    assertEquals(await host.client.send(other, { kind: "bump" }), { n: 1 });
    const { id } = await host.client.createAgent({ type: "kernel.thrower" });
    assertEquals(await host.client.send(id, { kind: "hang-on", args: { hook: "disposing-late", mark } }), {
      ok: true,
    });
    await host.client.dispose(id);
    // The hook ran to its end before the dispose answered.
    assertEquals(await Deno.readTextFile(mark), "finished");
    assertEquals((await failure(host.client.getAgent(id)))?.code, "agent_not_found");
    assertEquals(await host.client.send(other, { kind: "bump" }), { n: 2 });
    assertEquals(await abandonedWorkers(host.client), 0);
    assertEquals(await workerErrors(host.client), []);
  } finally {
    await stopAll();
    await Deno.remove(mark).catch(() => {});
  }
});

Deno.test("an onDisposing that never settles: the paglet is disposed after the deadline, its worker stays", async () => {
  try {
    const host = await start("hang-dispose");
    const { id: other } = await host.client.createAgent({ type: "kernel.thrower" });
    assertEquals(await host.client.send(other, { kind: "bump" }), { n: 1 });
    const { id } = await host.client.createAgent({ type: "kernel.thrower" });
    assertEquals(await host.client.send(id, { kind: "hang-on", args: { hook: "disposing" } }), { ok: true });
    await host.client.dispose(id);
    assertEquals((await failure(host.client.getAgent(id)))?.code, "agent_not_found");
    assertEquals(await host.client.send(other, { kind: "bump" }), { n: 2 });
    assertEquals(await abandonedWorkers(host.client), 0);
    assertEquals(await workerErrors(host.client), [
      `onDisposing of ${id} did not finish within 1 s; disposed all the same`,
    ]);
  } finally {
    await stopAll();
  }
});

Deno.test("an onDisposing in a loop: the paglet is disposed, the worker replaced, the other paglet serves", async () => {
  try {
    const host = await start("loop-dispose");
    const { id: other } = await host.client.createAgent({ type: "kernel.thrower" });
    assertEquals(await host.client.send(other, { kind: "bump" }), { n: 1 });
    const { id } = await host.client.createAgent({ type: "kernel.thrower" });
    assertEquals(await host.client.send(id, { kind: "hang-on", args: { hook: "disposing-loop" } }), {
      ok: true,
    });
    await host.client.dispose(id);
    assertEquals((await failure(host.client.getAgent(id)))?.code, "agent_not_found");
    assertEquals(await host.client.send(other, { kind: "bump" }), { n: 2 });
    assertEquals(await abandonedWorkers(host.client), 1);
    assertEquals(await workerErrors(host.client), [
      `onDisposing of ${id} did not finish within 1 s; disposed all the same`,
    ]);
  } finally {
    await stopAll();
  }
});
