/** agents/timers.ts: Deno core timers with the globals' semantics (order, repeat, cancel, ref). */
import { assert, assertEquals } from "../tests/helpers/assert.ts";
import { cancel, CORE_TIMERS, every, later, orAfter, sleep, timerDelay } from "./timers.ts";

Deno.test("timers use Deno's core timer list on the pinned Deno (no Node timers to load)", () => {
  assert(
    CORE_TIMERS,
    "Deno's core has no createTimer/cancelTimer: the globals are used, with their start-up cost",
  );
});

Deno.test("later fires once, in order of due time; a cancelled one never fires", async () => {
  const fired: string[] = [];
  const last = Promise.withResolvers<void>();
  later(20, () => {
    fired.push("b");
    last.resolve();
  });
  later(1, () => fired.push("a"));
  // Due before "b": had it not been cancelled, it would be in the list when "b" fires.
  const never = later(5, () => fired.push("never"));
  cancel(never);
  cancel(never); // twice is harmless, as is undefined
  cancel(undefined);
  await last.promise;
  assertEquals(fired, ["a", "b"]);
});

Deno.test("every repeats until cancelled from its own callback", async () => {
  let n = 0;
  const done = Promise.withResolvers<void>();
  const timer = every(2, () => {
    if (++n === 3) {
      cancel(timer);
      done.resolve();
    }
  });
  await done.promise;
  // Ten periods later (timers fire in due order): a live interval would have ticked again by then.
  await sleep(20);
  assertEquals(n, 3);
});

async function runScript(source: string): Promise<{ code: number; stdout: string }> {
  const url = new URL("./timers.ts", import.meta.url).href;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", `import { later, sleep } from "${url}";\n${source}`],
    stdout: "piped",
    stderr: "inherit",
    signal: AbortSignal.timeout(60_000),
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
}

Deno.test("a timer with ref: false does not keep the process alive; sleep does", async () => {
  // The unref'd timer is due in an hour: the process ends as soon as the sleep has printed.
  const { code, stdout } = await runScript(
    `later(3_600_000, () => console.log("unref fired"), { ref: false });
     await sleep(10); console.log("slept");
     later(10, () => console.log("ref fired"));`,
  );
  assertEquals(code, 0);
  assertEquals(stdout, "slept\nref fired\n");
});

Deno.test("orAfter settles as its work does, or with its value once the time has passed", async () => {
  assertEquals(await orAfter(Promise.resolve("done"), 10_000, "late"), "done");
  assertEquals(await orAfter(new Promise<string>(() => {}), 1, "late"), "late");
  const failed = await orAfter(Promise.reject(new Error("no")), 10_000, "late").catch((e: Error) =>
    e.message
  );
  assertEquals(failed, "no");
});

Deno.test("a delay past 2^31 - 1 ms waits that long, not at once (as an overflowing timer would)", async () => {
  assertEquals(timerDelay(2 ** 32), 2 ** 31 - 1);
  assertEquals(timerDelay(Infinity), 2 ** 31 - 1);
  assertEquals(timerDelay(NaN), 0);
  assertEquals(timerDelay(250), 250);
  let fired = false;
  const far = later(30 * 24 * 3600 * 1000, () => fired = true);
  await sleep(30);
  cancel(far);
  assert(!fired, "a 30-day timer fired within 30 ms");
});
