/**
 * A message queued for an inactive agent (202) takes effect once even when the host is SIGKILLed
 * while its handler is half-way: the periodic checkpoint stores no state of that handler's making,
 * since the message, still stored, is handled again at the restart on whatever state was stored.
 */
import { assertEquals } from "../helpers/assert.ts";
import { freePort, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { KERNEL_FIXTURES } from "../fixtures/kernel_paglets.ts";
import { startMobileHost } from "../mobility/helpers.ts";
import { HOLDER_MODULE } from "./fixtures/holding_paglet.ts";
import { storedState } from "../helpers/host_db.ts";

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("a queued message whose handler was half-way at a SIGKILL takes effect once after the restart", async () => {
  try {
    const port = freePort();
    const args = ["--module", HOLDER_MODULE, "--module", KERNEL_FIXTURES];
    const host = await startMobileHost("alpha", { port, args });
    const { id } = await host.client.createAgent({ type: "chaos.holder" });
    // Its adds reach the store only with a checkpoint (durability "checkpoint"): a clock of them.
    const { id: clock } = await host.client.createAgent({ type: "kernel.tally" });
    await host.client.deactivate(id, { activateOnMessage: false, queueMessagesWhenInactive: true });
    const queued = await host.client.send(id, { kind: "hold", args: { n: 7 } }) as { queued?: boolean };
    assertEquals(queued.queued, true);

    await host.client.activate(id);
    const holding = `${host.dataDir}/work/${id}/holding`;
    await eventually("the handler half-way", () => exists(holding));
    // Two checkpoints after the handler's change (they run one at a time): the first one started
    // after it, the second after the first had stored everything it took.
    for (const total of [1, 2]) {
      await host.client.send(clock, { kind: "add", args: { by: 1 } });
      await eventually(
        `checkpoint ${total}`,
        () => storedState<{ total: number }>(host.dataDir, clock)?.total === total,
      );
    }
    await host.kill();

    await Deno.remove(holding);
    const again = await startMobileHost("alpha", { port, args, dataDir: host.dataDir });
    await eventually("the stored message handed over again", () => exists(holding), 20_000);
    const { state } = await again.client.getAgent(id) as { state: { seen: number[] } };
    assertEquals(state.seen, [7], "the queued message's effect, once");
  } finally {
    await stopAll();
  }
});

Deno.test("checkpoints do not wait for the stored messages of a paglet whose changes wait for them", async () => {
  try {
    const args = ["--module", HOLDER_MODULE, "--module", KERNEL_FIXTURES];
    const host = await startMobileHost("alpha", { args });
    const { id } = await host.client.createAgent({ type: "chaos.holder-checkpoint" });
    const { id: clock } = await host.client.createAgent({ type: "kernel.tally" });
    await host.client.deactivate(id, { activateOnMessage: false, queueMessagesWhenInactive: true });
    // A quick one first (its reply tells the kernel how the type is stored), then one that holds.
    await host.client.send(id, { kind: "seen" });
    await host.client.send(id, { kind: "hold", args: { n: 3 } });
    await host.client.activate(id);
    await eventually("the handler half-way", () => exists(`${host.dataDir}/work/${id}/holding`));
    for (const total of [1, 2]) {
      await host.client.send(clock, { kind: "add", args: { by: 1 } });
      await eventually(
        `checkpoint ${total}`,
        () => storedState<{ total: number }>(host.dataDir, clock)?.total === total,
      );
    }
    // Its change was saved by a checkpoint while its handler still held: a backlog of such messages
    // never holds its checkpoints back.
    assertEquals(storedState<{ seen: number[] }>(host.dataDir, id)?.seen, [3]);
    await Deno.writeTextFile(`${host.dataDir}/work/${id}/release`, "");
  } finally {
    await stopAll();
  }
});
