/**
 * A move into a target that stops answering right after a preflight the source reuses (the target
 * answered a move a moment ago) is given up as soon as the target leaves the source's questions
 * unanswered, not after the transfer's stall limit (set here far beyond every deadline of the
 * test): it fails `transfer_pending` with `answering: false`, and is not tried again into the
 * silence. The paglet is then reserved (`moving`) on the source, since the target may hold it,
 * and ends as one copy with its state once the target answers.
 */
import { assert, assertEquals, assertRejectsCode } from "../helpers/assert.ts";
import { type HostProcess, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { agentIds, startMobileHost } from "../mobility/helpers.ts";
import { TcpProxy } from "../helpers/tcp_proxy.ts";

/** A stall limit far longer than any deadline below: only the target's silence can end the move. */
const NEVER_MS = "600000";

/** How long the test waits for an answer it expects: far less than the stall limit. */
const DEADLINE_MS = 60_000;

/** Alpha, with a stall limit that never ends a move of the test, and beta; a paglet on alpha (count 7). */
async function twoHosts(): Promise<{ a: HostProcess; b: HostProcess; id: string; other: string }> {
  const [a, b] = await Promise.all([
    startMobileHost("alpha", { env: { PAGLETS_TRANSFER_STALL_MS: NEVER_MS } }),
    startMobileHost("beta"),
  ]);
  const { id } = await a.client.createAgent({ type: "test.traveller" });
  await a.client.send(id, { kind: "set", args: { count: 7 } });
  const { id: other } = await a.client.createAgent({ type: "test.traveller" });
  return { a, b, id, other };
}

/** The `transfer-retry` events of a host. */
async function retries(host: HostProcess): Promise<unknown[]> {
  const { events } = await host.client.events(0, 1000);
  return events.filter((e) => e.kind === "transfer-retry");
}

Deno.test("a dispatch into a target stopped right after a reused preflight fails transfer_pending once the target leaves its questions unanswered, and ends as one copy when it resumes", async () => {
  let stopped: HostProcess | null = null;
  try {
    const { a, b, id, other } = await twoHosts();
    // Beta answers a move: alpha reuses that preflight answer for the next one.
    await a.client.dispatch(other, b.url);
    b.process.kill("SIGSTOP");
    stopped = b;

    const move = a.client.request("POST", `/v1/agents/${id}/dispatch`, { target: b.url }, DEADLINE_MS);
    await eventually(
      "the paglet to leave its worker",
      async () => (await a.client.getAgent(id)).status === "moving",
    );
    // A message sent during the move waits for its outcome and is told where the paglet is.
    const message = a.client.send(id, { kind: "get" }, { timeoutMs: DEADLINE_MS }).then(
      () => ({ code: "none" }),
      (err: { code: string }) => err,
    );

    const err = await assertRejectsCode(() => move, "transfer_pending") as Error & { details?: unknown };
    assertEquals((err.details as { answering?: unknown }).answering, false, err.message);
    assertEquals((await message).code, "agent_moving");
    assertEquals(await retries(a), [], "no attempt was made into the silence after the first");
    // Beta may hold the paglet (its socket took the transfer): alpha keeps it reserved.
    assertEquals((await a.client.getAgent(id)).status, "moving");

    b.process.kill("SIGCONT");
    stopped = null;
    // Whatever beta did with the transfer it had taken, the paglet is on one host only, with its
    // state, and answers there.
    const where = await eventually("the move settled", async () => {
      const onA = (await agentIds(a)).includes(id) && (await a.client.getAgent(id)).status === "active";
      const onB = (await agentIds(b)).includes(id);
      if (onA === onB) return null;
      return onA ? a : b;
    }, DEADLINE_MS);
    const state = await where.client.send(id, { kind: "get" }) as { count: number };
    assertEquals(state.count, 7);
    const elsewhere = where === a ? b : a;
    assert(!(await agentIds(elsewhere)).includes(id), `a second copy on ${elsewhere.name}`);
  } finally {
    stopped?.process.kill("SIGCONT");
    await stopAll();
  }
});

Deno.test("a paglet that dispatches itself into a target that accepts connections and reads nothing is told transfer_pending, and is active again with its state once the target says it never had it", async () => {
  let proxy: TcpProxy | null = null;
  try {
    const { a, b, id, other } = await twoHosts();
    proxy = new TcpProxy(b.url);
    await a.client.dispatch(other, proxy.url);
    proxy.freeze();

    const { failed } = await a.client.send(
      id,
      { kind: "dispatchAndCarryOn", args: { target: proxy.url } },
      { timeoutMs: DEADLINE_MS },
    ) as { failed: string | null };
    assertEquals(failed, "transfer_pending");
    assertEquals(await retries(a), []);
    assertEquals((await a.client.getAgent(id)).status, "moving");

    // The target never read the transfer: asked again, it refuses it for good, and the paglet lives
    // on here with its state.
    proxy.pass({ closeFrozen: true });
    const state = await eventually("the paglet active on alpha again", async () => {
      const s = await a.client.send(id, { kind: "get" }) as { count: number; events: string[] };
      return s.events.includes("activation:alpha:dispatch-failed") ? s : null;
    }, DEADLINE_MS);
    assertEquals(state.count, 7);
    assertEquals(await agentIds(b), [other]);
  } finally {
    proxy?.close();
    await stopAll();
  }
});
