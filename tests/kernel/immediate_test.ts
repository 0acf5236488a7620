/**
 * `immediate()` (host/immediate.ts) runs every callback once, in call order, after the work ready
 * now, on Deno core's queue; a queued callback keeps the thread alive, and a throwing one does not
 * stop the others.
 */
import { assertEquals } from "../helpers/assert.ts";
import { CORE_IMMEDIATES, immediate } from "../../host/immediate.ts";

Deno.test("immediate queues on Deno core's queue on the pinned Deno (no Node polyfills)", () => {
  assertEquals(CORE_IMMEDIATES, true);
});

Deno.test("immediate runs each callback once, in call order, after the calls and their microtasks", async () => {
  for (let batch = 0; batch < 3; batch++) {
    const ran: number[] = [];
    const done = Promise.withResolvers<void>();
    let microtask = false;
    queueMicrotask(() => microtask = true);
    for (let i = 0; i < 5000; i++) {
      immediate(() => {
        if (i === 0) assertEquals(microtask, true, "microtasks queued before run first");
        ran.push(i);
        if (i === 4999) done.resolve();
      });
    }
    assertEquals(ran, [], "nothing runs within the calls");
    await done.promise;
    assertEquals(ran, [...Array(5000).keys()]);
  }
});

Deno.test("callbacks queued by a callback run in a later round, after those queued before them", async () => {
  const ran: string[] = [];
  const done = Promise.withResolvers<void>();
  immediate(() => {
    ran.push("a");
    immediate(() => {
      ran.push("c");
      done.resolve();
    });
  });
  immediate(() => ran.push("b"));
  await done.promise;
  assertEquals(ran, ["a", "b", "c"]);
});

Deno.test("a throwing callback is reported and the round goes on", async () => {
  const reported: unknown[] = [];
  const onError = (event: ErrorEvent) => {
    reported.push(event.error);
    event.preventDefault(); // handled: not an uncaught error of the test process
  };
  globalThis.addEventListener("error", onError);
  try {
    const ran: string[] = [];
    const done = Promise.withResolvers<void>();
    immediate(() => ran.push("before"));
    immediate(() => {
      throw new Error("boom");
    });
    immediate(() => {
      ran.push("after");
      done.resolve();
    });
    await done.promise;
    assertEquals(ran, ["before", "after"]);
    assertEquals((reported[0] as Error).message, "boom");
  } finally {
    globalThis.removeEventListener("error", onError);
  }
});

Deno.test("a queued callback keeps the process alive until it has run", async () => {
  const module = new URL("../../host/immediate.ts", import.meta.url).href;
  const code = `import { immediate } from "${module}";
immediate(() => immediate(() => console.log("ran")));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    stdout: "piped",
    stderr: "piped",
    // A leaked reference would keep the child alive for ever: it is killed, and the test fails.
    signal: AbortSignal.timeout(30_000),
  }).output();
  assertEquals(new TextDecoder().decode(out.stderr), "");
  assertEquals(new TextDecoder().decode(out.stdout), "ran\n");
  assertEquals(out.success, true);
});
