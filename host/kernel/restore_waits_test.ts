import { assert, assertEquals } from "../../tests/helpers/assert.ts";
import { RestoreWaits } from "./restore_waits.ts";
import { EARLY_TRIES } from "./start_retries.ts";

/** Waits until `check` holds, for 5 s at most. */
async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

Deno.test("retryAll tries every waiting restore at once; only those that wait again stay, one more failure each", async () => {
  const tried: string[] = [];
  const waits: RestoreWaits = new RestoreWaits((id) => {
    tried.push(id);
    // "a" still has no code; "b" is restored (or gone): its wait is over.
    if (id === "a") waits.wait(id);
    return Promise.resolve();
  });
  try {
    const first = waits.wait("a");
    waits.wait("b");
    assertEquals(first.failures, 1);
    waits.retryAll();
    await until("the round", () => waits.failures("b") === undefined);
    assertEquals(tried.sort(), ["a", "b"]);
    assertEquals(waits.failures("a"), 2);

    waits.retryAll();
    await until("the next round", () => waits.failures("a") === 3);
    assertEquals(tried, ["a", "b", "a"]);
  } finally {
    await waits.close();
  }
});

Deno.test(`a host that keeps coming back tries a waiting restore early at most ${EARLY_TRIES} times between two timed tries`, async () => {
  const tried: string[] = [];
  // Every try fails; the timed try comes at once after the failure of the last early try, else an
  // hour later.
  const waits: RestoreWaits = new RestoreWaits((id) => {
    tried.push(id);
    waits.wait(id);
    return Promise.resolve();
  }, { delayMs: (failures) => failures === EARLY_TRIES + 1 ? 0 : 3_600_000 });
  const early = async (what: string, id: string, failures: number) => {
    waits.retryAll();
    await until(what, () => waits.failures(id) === failures);
  };
  try {
    waits.wait("a");
    for (let i = 1; i < EARLY_TRIES; i++) await early(`early try ${i}`, "a", i + 1);
    // The last early try fails, and its timed try follows at once: the early tries are due again.
    await early(`early try ${EARLY_TRIES} and the timed try`, "a", EARLY_TRIES + 2);
    for (let i = 1; i <= EARLY_TRIES; i++) await early(`early try ${i} again`, "a", EARLY_TRIES + 2 + i);
    assertEquals(tried.length, 2 * EARLY_TRIES + 1);

    // Spent: the host coming back once more tries only a restore that has early tries left.
    waits.wait("b");
    await early("b's early try", "b", 2);
    assertEquals(tried.slice(2 * EARLY_TRIES + 1), ["b"]);
    assertEquals(waits.failures("a"), 2 * EARLY_TRIES + 2);
  } finally {
    await waits.close();
  }
});

Deno.test("a module uploaded tries every waiting restore, its early tries spent or not, and spends none", async () => {
  const tried: string[] = [];
  const waits: RestoreWaits = new RestoreWaits((id) => {
    tried.push(id);
    waits.wait(id);
    return Promise.resolve();
  }, { delayMs: () => 3_600_000 });
  try {
    waits.wait("a");
    for (let i = 1; i <= EARLY_TRIES; i++) {
      waits.retryAll();
      await until(`early try ${i}`, () => waits.failures("a") === i + 1);
    }
    waits.retryAll(); // spent: not tried
    waits.retryAll(true); // an upload: tried
    await until("the upload's try", () => waits.failures("a") === EARLY_TRIES + 2);
    assertEquals(tried.length, EARLY_TRIES + 1);
    // The upload's try spent no early try: a host coming back tries it again.
    waits.retryAll();
    await until("an early try after the upload's", () => waits.failures("a") === EARLY_TRIES + 3);
    assertEquals(tried.length, EARLY_TRIES + 2);
  } finally {
    await waits.close();
  }
});

Deno.test("a waiting restore is tried again when its time comes, without retryAll", async () => {
  const tried: number[] = [];
  // Due at once after its first two failures, then not for an hour.
  const waits: RestoreWaits = new RestoreWaits((id) => {
    tried.push(waits.failures(id)!);
    waits.wait(id);
    return Promise.resolve();
  }, { delayMs: (failures) => failures <= 2 ? 0 : 3_600_000 });
  try {
    waits.wait("a");
    await until("two tries", () => waits.failures("a") === 3);
    assertEquals(tried, [1, 2]);
  } finally {
    await waits.close();
  }
});

Deno.test("a closed RestoreWaits tries nothing more", async () => {
  const tried: string[] = [];
  const waits = new RestoreWaits((id) => Promise.resolve(void tried.push(id)));
  waits.wait("a");
  await waits.close();
  waits.retryAll();
  assertEquals(tried, []);
});

Deno.test("close waits for the try under way, and starts none of those not begun", async () => {
  const started: string[] = [];
  const ended: string[] = [];
  const first = Promise.withResolvers<void>();
  const gate = Promise.withResolvers<void>();
  const waits: RestoreWaits = new RestoreWaits(async (id) => {
    started.push(id);
    first.resolve();
    await gate.promise;
    ended.push(id);
    // Still no code: a try waits again, even once closed (no round follows).
    waits.wait(id);
  });
  // More waiting restores than are tried at once: some are not begun when the stop comes.
  const ids = Array.from({ length: 20 }, (_, i) => `ag_${i}`);
  for (const id of ids) waits.wait(id);
  waits.retryAll();
  await first.promise;
  const begun = started.length;
  // Whatever close() returns (nothing, before it waited): what had ended once it resolved.
  const closed = Promise.resolve(waits.close()).then(() => [...ended]);
  gate.resolve();
  assertEquals((await closed).length, begun, "every try under way ended before close resolved");
  assertEquals(started.length, begun, "no try began after close");
  assert(begun < ids.length, `${begun} of ${ids.length} begun at once`);
});

Deno.test("a waiting arrival's source is asked at each try: kept while it waits again, dropped when the wait ends", async () => {
  const sources: (string | undefined)[] = [];
  let again = true;
  const waits: RestoreWaits = new RestoreWaits((id) => {
    sources.push(waits.sourceOf(id));
    if (again) waits.wait(id);
    return Promise.resolve();
  });
  try {
    waits.wait("a", "http://127.0.0.1:9");
    waits.retryAll();
    await until("the first round", () => waits.failures("a") === 2);
    again = false;
    waits.retryAll();
    await until("the second round", () => waits.failures("a") === undefined);
    assertEquals(sources, ["http://127.0.0.1:9", "http://127.0.0.1:9"]);
    assertEquals(waits.sourceOf("a"), undefined);
  } finally {
    await waits.close();
  }
});
