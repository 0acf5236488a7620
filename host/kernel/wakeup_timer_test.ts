import { assert, assertEquals } from "../../tests/helpers/assert.ts";
import { type WakeupSchedule, WakeupTimer } from "./wakeup_timer.ts";

/** Waits until `check` holds, for 5 s at most. */
async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** A store whose wake-ups `ids` are all due now, none later; `look` answers each look for them. */
function dueNow(
  ids: string[],
  look: (due: string[]) => Promise<string[]> = (due) => Promise.resolve(due),
): WakeupSchedule {
  return {
    dueWakeups: (_now, limit = 100, except = []) =>
      look(ids.filter((id) => !except.includes(id)).slice(0, limit)),
    nextWakeup: () => Promise.resolve(null),
  };
}

Deno.test("close waits for the wake-ups under way, and starts none after them", async () => {
  const started: string[] = [];
  const ended: string[] = [];
  const gate = Promise.withResolvers<void>();
  // More wake-ups due than run at once: some are not begun when the stop comes.
  const ids = Array.from({ length: 40 }, (_, i) => `ag_${i}`);
  const timer = new WakeupTimer(dueNow(ids), async (id) => {
    started.push(id);
    await gate.promise;
    ended.push(id);
  });
  timer.poke();
  await until("the first wake-ups under way", () => started.length > 0);
  const begun = started.length;
  // Whatever close() returns (nothing, before it waited): what had ended once it resolved.
  const closed = Promise.resolve(timer.close()).then(() => [...ended]);
  gate.resolve();
  assertEquals((await closed).length, begun, "every wake-up under way ended before close resolved");
  assertEquals(started.length, begun, "no wake-up began after close");
  assert(begun < ids.length, `${begun} of ${ids.length} begun at once`);
});

Deno.test("a close during a look for the wake-ups due waits for it, and the look starts none", async () => {
  const started: string[] = [];
  const asked = Promise.withResolvers<void>();
  const answer = Promise.withResolvers<void>();
  const timer = new WakeupTimer(
    dueNow(["ag_1", "ag_2"], async (due) => {
      asked.resolve();
      await answer.promise;
      return due;
    }),
    (id) => Promise.resolve(void started.push(id)),
  );
  timer.poke();
  await asked.promise;
  const closed = Promise.resolve(timer.close());
  answer.resolve();
  await closed;
  // A turn of the event loop: a look that went on after the close would have started them by now.
  await new Promise((r) => setTimeout(r, 0));
  assertEquals(started, []);
});

Deno.test("a wake-up that ends makes room for the next one due; a closed timer wakes nothing", async () => {
  const woken: string[] = [];
  const ids = Array.from({ length: 40 }, (_, i) => `ag_${i}`);
  const asleep = new Set(ids);
  const timer = new WakeupTimer(
    {
      dueWakeups: (_now, limit = 100, except = []) =>
        Promise.resolve([...asleep].filter((id) => !except.includes(id)).slice(0, limit)),
      nextWakeup: () => Promise.resolve(null),
    },
    (id) => {
      woken.push(id);
      asleep.delete(id);
      return Promise.resolve();
    },
  );
  try {
    timer.poke();
    await until("every wake-up", () => woken.length === ids.length);
    assertEquals(woken.sort(), [...ids].sort());
  } finally {
    await timer.close();
  }
  asleep.add("ag_late");
  timer.poke();
  await timer.close();
  assertEquals(woken.length, ids.length);
});
