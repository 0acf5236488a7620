import { assertEquals } from "../helpers/assert.ts";
import { testHost } from "../helpers/in_process.ts";
import { registryOf } from "../services/helpers.ts";

Deno.test("pi-math's assembly-open says when the host's pi threads start with it (the post-processor's head start fills that time)", async () => {
  await using h = await testHost();
  const services = registryOf(h.host);
  const job = { start: 0, digits: 2000, terms: 150, chunk: 500 };
  const open = (key: string) => services.call("pi-math", "assembly-open", { key, job });
  const close = (key: string) => services.call("pi-math", "assembly-close", { key });
  try {
    // The first assembly of the host: its threads start right after this answer.
    assertEquals(await open("first"), { ok: true, threadsStarting: true });
    // Answered by the assembly on pool thread 0, so only once the threads have been started.
    await services.call("pi-math", "assembly-flush", { key: "first" });
    // Every thread started: a later job's assembly-open holds nothing up.
    assertEquals(await open("second"), { ok: true, threadsStarting: false });
  } finally {
    await close("first");
    await close("second");
  }
});
