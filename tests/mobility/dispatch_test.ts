/** Dispatch, clone and retract between two real host processes. */
import { assert, assertEquals, assertRejectsCode } from "../helpers/assert.ts";
import { freePort, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { agentIds, HOMEBODY_MODULE, startMobileHost, travellerEvents } from "./helpers.ts";
import type { HostProcess } from "../helpers/host_process.ts";

/** The parts of an active agent's record that say what it is doing. */
async function liveView(
  host: HostProcess,
  id: string,
): Promise<{ mailbox?: { busy: boolean }; transition?: string | null }> {
  return await host.client.getAgent(id) as { mailbox?: { busy: boolean }; transition?: string | null };
}

Deno.test("a dispatched paglet keeps its state; onDispatching runs on the source, then onArrival and run() on the target", async () => {
  try {
    const [a, b] = await Promise.all([startMobileHost("alpha"), startMobileHost("beta")]);
    const { id } = await a.client.createAgent({ type: "test.traveller" });
    const big = 2n ** 70n + 3n;
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    await a.client.send(id, {
      kind: "set",
      args: { count: 7, big, bytes, nested: { n: -5n, raw: new Uint8Array(3) } },
    });

    const ref = await a.client.dispatch(id, b.url);
    assertEquals(ref, { id, host: b.url });

    const events = await eventually("run() on beta", async () => {
      const ev = await travellerEvents(b, id);
      return ev.includes("run:beta") ? ev : null;
    });
    assertEquals(events!, [
      "creation:alpha",
      "run:alpha",
      "dispatching:alpha:dispatch",
      "arrival:beta:dispatch",
      "run:beta",
    ]);
    const state = await b.client.send(id, { kind: "get" }) as Record<string, unknown>;
    assertEquals(state.count, 7);
    assertEquals(state.big, big);
    assertEquals(state.bytes, bytes);
    assertEquals(state.nested, { n: -5n, raw: new Uint8Array(3) });
    assertEquals(await agentIds(a), []);
    assertEquals(await a.client.getAgent(id), { id, movedTo: b.url });
    assertEquals((await b.client.getAgent(id)).status, "active");
  } finally {
    await stopAll();
  }
});

Deno.test("a handler that dispatches its paglet gets the new reference; clone copies; retract pulls back", async () => {
  try {
    const [a, b] = await Promise.all([startMobileHost("alpha"), startMobileHost("beta")]);
    const { id } = await a.client.createAgent({ type: "test.traveller" });
    await a.client.send(id, { kind: "increment", args: { by: 3 } });

    // From inside a handler.
    const reply = await a.client.send(id, { kind: "dispatchTo", args: { target: b.url } }) as {
      ref: unknown;
    };
    assertEquals(reply.ref, { id, host: b.url });
    assertEquals((await b.client.send(id, { kind: "get" }) as { count: number }).count, 3);

    // Clone from beta to alpha: a new id with onClone, the original stays.
    const clone = await b.client.clone(id, a.url);
    assert(clone.id !== id);
    assertEquals(clone.host, a.url);
    const cloneEvents = await eventually("clone run", async () => {
      const ev = await travellerEvents(a, clone.id);
      return ev.at(-1) === "run:alpha" && ev.includes("clone:alpha:clone") ? ev : null;
    });
    assertEquals(cloneEvents!.slice(-2), ["clone:alpha:clone", "run:alpha"]);
    assertEquals((await a.client.send(clone.id, { kind: "get" }) as { count: number }).count, 3);
    assertEquals((await b.client.getAgent(id)).status, "active");

    // Clone to its own host (default target).
    const local = await b.client.clone(id);
    assertEquals(local.host, b.url);
    assertEquals((await b.client.getAgent(local.id)).status, "active");

    // Retract: alpha pulls the original back from beta.
    const back = await a.client.retract(id, b.url);
    assertEquals(back, { id, host: a.url });
    const events = await eventually("run after retract", async () => {
      const ev = await travellerEvents(a, id);
      return ev.at(-1) === "run:alpha" && ev.includes("arrival:alpha:retract") ? ev : null;
    });
    assertEquals(events!.slice(-3), ["dispatching:beta:retract", "arrival:alpha:retract", "run:alpha"]);
    assertEquals(await b.client.getAgent(id), { id, movedTo: a.url });

    // A paglet retracts another one from inside a handler.
    await a.client.dispatch(clone.id, b.url);
    const pulled = await a.client.send(id, { kind: "retract", args: { id: clone.id, from: b.url } }) as {
      ref: unknown;
    };
    assertEquals(pulled.ref, { id: clone.id, host: a.url });
    assertEquals((await a.client.getAgent(clone.id)).status, "active");
  } finally {
    await stopAll();
  }
});

Deno.test("a dispatch that cannot happen fails early with a clear error and the paglet stays active with its state", async () => {
  try {
    const [a, b, other, small] = await Promise.all([
      startMobileHost("alpha", { args: ["--module", HOMEBODY_MODULE] }),
      startMobileHost("beta"),
      startMobileHost("gamma", { args: ["--mesh-version", "other"] }),
      startMobileHost("delta", { args: ["--artifact-max-size", "64K"] }),
    ]);
    const { id } = await a.client.createAgent({ type: "test.traveller" });
    await a.client.send(id, { kind: "increment", args: { by: 41 } });

    const unreachable = `http://127.0.0.1:${freePort()}`;
    const err = await assertRejectsCode(() => a.client.dispatch(id, unreachable), "host_unreachable");
    assert(err.message.includes(unreachable), err.message);
    await assertRejectsCode(() => a.client.dispatch(id, other.url), "mesh_version_mismatch");
    await assertRejectsCode(() => a.client.dispatch(id, "no-such-host"), "host_not_found");
    // A path names no host; a URL must be http(s) with a host.
    await assertRejectsCode(() => a.client.dispatch(id, "../../x"), "host_not_found");
    // host:port forms stay URLs: nothing answers at these, which is what they are told.
    for (const target of ["[::1]:1", "127.0.0.1:1/"]) {
      await assertRejectsCode(() => a.client.dispatch(id, target), "host_unreachable");
    }
    for (const target of ["ftp://127.0.0.1:1", "http://[::1", "http://"]) {
      await assertRejectsCode(() => a.client.dispatch(id, target), "invalid_request");
    }
    // From inside a handler the paglet gets the error.
    await assertRejectsCode(
      () => a.client.send(id, { kind: "dispatchTo", args: { target: unreachable } }),
      "host_unreachable",
    );

    const state = await a.client.send(id, { kind: "get" }) as { count: number; events: string[] };
    assertEquals(state.count, 41);
    assert(!state.events.some((e) => e.startsWith("dispatching")), state.events.join(","));
    assertEquals((await a.client.getAgent(id)).status, "active");

    const home = await a.client.createAgent({ type: "test.homebody" });
    await assertRejectsCode(() => a.client.dispatch(home.id, b.url), "unknown_agent_type");
    assertEquals(await a.client.send(home.id, { kind: "get" }), { count: 0, events: [] });
    // A clone's refusal names the paglet asked for, not the copy that was never made.
    const refusedClone = await assertRejectsCode(() => a.client.clone(home.id, b.url), "unknown_agent_type");
    assert(refusedClone.message.includes(`Cannot clone ${home.id} to`), refusedClone.message);

    // A state over the target's limit is refused by the preflight, before onDispatching runs.
    const big = await a.client.createAgent({ type: "test.traveller", state: { pad: "x".repeat(200_000) } });
    await assertRejectsCode(() => a.client.dispatch(big.id, small.url), "payload_too_large");
    const bigState = await a.client.send(big.id, { kind: "get" }) as { events: string[] };
    assert(!bigState.events.some((e) => e.startsWith("dispatching")), bigState.events.join(","));

    const stubborn = await a.client.createAgent({ type: "test.stubborn" });
    await assertRejectsCode(() => a.client.dispatch(stubborn.id, b.url), "hook_failed");
    assertEquals(await a.client.send(stubborn.id, { kind: "get" }), { tries: 1 });
    assertEquals(await agentIds(b), []);

    // An inactive paglet stays asleep when the move is refused, or is a move to its own host: its
    // wake-up and the messages it holds back stay as they were, and no activation hook runs.
    const sleeper = await a.client.createAgent({ type: "test.traveller" });
    const policy = { afterSeconds: 3600, activateOnMessage: false };
    await a.client.deactivate(sleeper.id, policy);
    await a.client.send(sleeper.id, { kind: "increment", args: { by: 1 } });
    const asleep = await a.client.getAgent(sleeper.id);
    await assertRejectsCode(() => a.client.dispatch(sleeper.id, unreachable), "host_unreachable");
    await assertRejectsCode(() => a.client.dispatch(sleeper.id, other.url), "mesh_version_mismatch");
    assertEquals(await a.client.dispatch(sleeper.id, a.url), { id: sleeper.id, host: a.url });
    const after = await a.client.getAgent(sleeper.id);
    assertEquals(
      [after.status, after.policy, after.queuedMessages, after.state],
      ["inactive", asleep.policy, 1, asleep.state],
    );
  } finally {
    await stopAll();
  }
});

Deno.test("code after a self-dispatch that failed once the paglet left (unconfirmed) can no longer act for it", async () => {
  try {
    const port = freePort();
    const a = await startMobileHost("alpha");
    const b = await startMobileHost("beta", { port, env: { PAGLETS_FAULT: "exit-after-store" } });
    const { id } = await a.client.createAgent({ type: "test.traveller" });
    // Refused by the preflight: the instance is still the paglet's and goes on.
    const unreachable = `http://127.0.0.1:${freePort()}`;
    const early = await a.client.send(id, { kind: "dispatchAndCarryOn", args: { target: unreachable } });
    assertEquals(early, { failed: "host_unreachable", current: true, after: "ok" });
    // Stored by beta, which exits before it confirms: the paglet is reserved, this instance is not it.
    const late = await a.client.send(id, { kind: "dispatchAndCarryOn", args: { target: b.url } });
    assertEquals(late, { failed: "transfer_pending", current: false, after: "state_conflict" });
    await b.process.status;
    const back = await startMobileHost("beta", { port, dataDir: b.dataDir });
    await eventually(
      "the paglet lives on beta alone",
      async () => (await agentIds(back)).includes(id) && !(await agentIds(a)).includes(id),
      30_000,
    );
  } finally {
    await stopAll();
  }
});

Deno.test("a host that has just restarted moves a paglet by the name of a member it has not heard from yet", async () => {
  try {
    const port = freePort();
    const a = await startMobileHost("alpha", { port });
    // Beta gossips every 2 s: a restarted alpha (which names no peer) hears of it only then.
    const b = await startMobileHost("beta", { args: ["--peer", a.url, "--gossip-interval-ms", "2000"] });
    await eventually(
      "alpha knows beta",
      async () =>
        (await a.client.request<{ hosts: { name: string }[] }>("GET", "/v1/mesh/hosts")).hosts.some((h) =>
          h.name === "beta"
        ),
      20_000,
    );
    await a.kill();
    const again = await startMobileHost("alpha", { port, dataDir: a.dataDir });
    const { id } = await again.client.createAgent({ type: "test.traveller" });
    assertEquals(await again.client.dispatch(id, "beta"), { id, host: b.url });
  } finally {
    await stopAll();
  }
});

Deno.test("requests that race a move are told what happened: moved (and where), moving, or changed meanwhile", async () => {
  try {
    const [a, b] = await Promise.all([startMobileHost("alpha"), startMobileHost("beta")]);
    const codeOf = (p: Promise<unknown>) =>
      p.then(() => "ok", (err) => (err as { code?: string }).code ?? String(err));
    for (let round = 0; round < 4; round++) {
      const { id } = await a.client.createAgent({ type: "test.traveller" });
      // Two dispatches at once: one moves it; the other waited its turn behind it.
      const twice = await Promise.all([
        codeOf(a.client.dispatch(id, b.url)),
        codeOf(a.client.dispatch(id, b.url)),
      ]);
      assertEquals(twice.filter((c) => c === "ok").length, 1, twice.join(" "));
      const loser = twice.find((c) => c !== "ok")!;
      assert(["agent_not_found", "agent_moving"].includes(loser), `round ${round}: ${twice.join(" ")}`);
      // A dispatch and a deactivation at once: whichever goes second is told why.
      const other = await a.client.createAgent({ type: "test.traveller" });
      const raced = await Promise.all([
        codeOf(a.client.dispatch(other.id, b.url)),
        codeOf(a.client.deactivate(other.id)),
      ]);
      assert(raced.includes("ok"), raced.join(" "));
      for (const code of raced) {
        assert(
          ["ok", "agent_not_found", "agent_moving", "agent_busy"].includes(code),
          `round ${round}: ${raced.join(" ")}`,
        );
      }
    }
  } finally {
    await stopAll();
  }
});

Deno.test("an inactive arrival waits on disk; an inactive paglet can be dispatched; messages follow a moving paglet", async () => {
  try {
    const [a, b] = await Promise.all([startMobileHost("alpha"), startMobileHost("beta")]);
    const { id } = await a.client.createAgent({ type: "test.traveller" });
    await a.client.send(id, { kind: "writeFile", args: { name: "data.bin", size: 1000 } });

    await a.client.request("POST", `/v1/agents/${id}/dispatch`, { target: b.url, arrivalMode: "inactive" });
    const stored = await b.client.getAgent(id);
    assertEquals(stored.status, "inactive");
    assert(!(stored.state as { events: string[] }).events.includes("arrival:beta:dispatch"));
    await b.client.activate(id);
    const state = await b.client.send(id, { kind: "get" }) as { events: string[] };
    assertEquals(state.events.slice(-2), ["activation:beta:external", "run:beta"]);
    assert(
      (await b.client.send(id, { kind: "filePath", args: { name: "data.bin" } }) as { path: string }).path,
    );

    // Inactive here: it wakes (onActivation, run) and then leaves.
    await b.client.deactivate(id);
    await b.client.dispatch(id, a.url);
    const events = (await travellerEvents(a, id)).filter((e) => !e.startsWith("run:"));
    assertEquals(events.slice(-4), [
      "deactivating:beta:external",
      "activation:beta:dispatch",
      "dispatching:beta:dispatch",
      "arrival:alpha:dispatch",
    ]);

    // A message sent while the paglet leaves (its detach waiting for a busy handler) waits for the
    // departure and is forwarded after it; a message to the old host afterwards is forwarded too.
    const busy = a.client.send(id, { kind: "sleep", args: { ms: 1_000 } });
    busy.catch(() => {}); // awaited below; a wait that fails first must not leave it unhandled
    await eventually("the handler runs", async () => (await liveView(a, id)).mailbox?.busy, 10_000, 5);
    const moving = a.client.dispatch(id, b.url);
    moving.catch(() => {});
    await eventually(
      "the detach waits for the handler",
      async () => (await liveView(a, id)).transition === "detach",
      10_000,
      5,
    );
    const queued = a.client.send(id, { kind: "increment", args: { by: 2 } });
    assertEquals(await busy, { slept: 1_000 });
    assertEquals(await moving, { id, host: b.url });
    assertEquals(await queued, { count: 2 });
    assertEquals(await a.client.send(id, { kind: "increment", args: { by: 1 } }), { count: 3 });
    assertEquals((await b.client.send(id, { kind: "get" }) as { count: number }).count, 3);
  } finally {
    await stopAll();
  }
});

Deno.test("in a mesh, targets are host names: a paglet dispatches itself to a host by name", async () => {
  try {
    const a = await startMobileHost("alpha");
    const b = await startMobileHost("beta", { args: ["--peer", a.url] });
    await eventually("alpha knows beta", async () => {
      const { hosts } = await a.client.request<{ hosts: { name: string; online: boolean }[] }>(
        "GET",
        "/v1/mesh/hosts",
      );
      return hosts.some((h) => h.name === "beta" && h.online);
    });
    const { id } = await a.client.createAgent({ type: "test.traveller" });
    const reply = await a.client.send(id, { kind: "dispatchTo", args: { target: "beta" } }) as {
      ref: unknown;
    };
    assertEquals(reply.ref, { id, host: b.url });
    assertEquals(await b.client.clone(id, "alpha").then((r) => r.host), a.url);
    assertEquals(await a.client.retract(id, "beta"), { id, host: a.url });
  } finally {
    await stopAll();
  }
});

Deno.test("a paglet tours three hosts by dispatching itself from run(), starting right after its creation", async () => {
  try {
    const [a, b, c] = await Promise.all([
      startMobileHost("alpha"),
      startMobileHost("beta"),
      startMobileHost("gamma"),
    ]);
    const hops = 30;
    const { id } = await a.client.createAgent({
      type: "test.tourist",
      state: { itinerary: [a.url, b.url, c.url], hops },
    });
    const state = await eventually("the tour's end on alpha", async () => {
      const s = await a.client.send(id, { kind: "get" }).catch(() => null) as
        | { done: number; seen: string[] }
        | null;
      return s && s.done === hops && s.seen.length === hops ? s : null;
    }, 30_000);
    assertEquals(state!.seen.slice(0, 6), ["beta", "gamma", "alpha", "beta", "gamma", "alpha"]);
    assertEquals([await agentIds(a), await agentIds(b), await agentIds(c)], [[id], [], []]);
  } finally {
    await stopAll();
  }
});

Deno.test("a dispatch to a host gone since its last yes fails before onDispatching: the paglet stays and serves", async () => {
  try {
    const [a, b] = await Promise.all([startMobileHost("alpha"), startMobileHost("beta")]);
    const first = await a.client.createAgent({ type: "test.traveller" });
    const second = await a.client.createAgent({ type: "test.traveller" });
    await a.client.dispatch(first.id, b.url); // beta's yes is remembered for 10 s
    const answered = Date.now();
    await b.kill();
    // A remembered yes stands only while its host answered within the last 2 s: this is that time.
    await eventually("beta's last answer is more than 2 s old", () => Date.now() - answered > 2100, 5000);
    const err = await assertRejectsCode(() => a.client.dispatch(second.id, b.url), "host_unreachable");
    assert(err.message.includes(b.url), err.message);
    const state = await a.client.send(second.id, { kind: "get" }) as { events: string[] };
    assert(!state.events.some((e) => e.startsWith("dispatching")), state.events.join(","));
    assertEquals((await a.client.getAgent(second.id)).status, "active");
  } finally {
    await stopAll();
  }
});
