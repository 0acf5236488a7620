/**
 * Ctrl-C (SIGINT) and SIGTERM of commands that hold work others wait on, as a user meets them:
 * `paglets run` with an embedded host says it is ending, stops the host, removes the host's
 * temporary data and exits 130 (143), and a second Ctrl-C quits at once and still removes the data;
 * `examples montecarlo` disposes its Runner's executors (their cores) before it exits.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { pagletsCommand } from "../helpers/cli.ts";
import { stepWithoutDefaultEntry } from "../helpers/default_entry.ts";
import { tempDir } from "../helpers/temp.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";

const SCRIPT = new URL("./fixtures/waiting_script.ts", import.meta.url).pathname;

/** The first line the child prints on stdout. */
async function firstLine(child: Deno.ChildProcess): Promise<string> {
  let text = "";
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
  } finally {
    reader.releaseLock();
  }
  return text.split("\n")[0];
}

for (
  const [signals, status] of [
    [["SIGINT"], 130],
    [["SIGTERM"], 143],
    [["SIGINT", "SIGINT"], 130],
  ] as const
) {
  Deno.test(
    `paglets run with an embedded host, ended by ${signals.join(" then ")}: data removed, exit ${status}`,
    async (t) => {
      await stepWithoutDefaultEntry(t, "no entry named: an embedded host", async () => {
        // The embedded host's data goes to a temporary folder under TMPDIR: this test's own.
        const tmp = await tempDir("paglets-interrupt-");
        const child = pagletsCommand(["run", SCRIPT], { TMPDIR: tmp }).spawn();
        const stderr = new Response(child.stderr).text();
        try {
          // (No `await stderr` in these messages: it would wait for the command's end.)
          const line = await firstLine(child);
          assert(line.startsWith("{"), `the script did not start: ${line}`);
          const made = [...Deno.readDirSync(tmp)].map((e) => e.name);
          assert(
            made.some((name) => name.startsWith("paglets-embedded-")),
            `no embedded host data in ${tmp}: ${made}`,
          );
          for (const signal of signals) child.kill(signal);
          const exit = await child.status;
          const said = await stderr;
          assertEquals(exit.code, status, said);
          assert(said.includes("Interrupted: ending cleanly"), said);
          const left = [...Deno.readDirSync(tmp)].map((e) => e.name).filter((name) =>
            name.startsWith("paglets-")
          );
          assertEquals(left, [], `left behind; stderr: ${said}`);
        } finally {
          try {
            child.kill("SIGKILL");
          } catch { /* ended */ }
          await child.status;
        }
      });
    },
  );
}

Deno.test("Ctrl-C of examples montecarlo disposes its Runner's executors before it exits 130", async () => {
  let child: Deno.ChildProcess | null = null;
  try {
    const host = await startHost({ name: "mc-interrupt" });
    child = pagletsCommand([
      "examples",
      "montecarlo",
      "--batches",
      "20",
      "--samples",
      "200000000",
      "--entry",
      host.url,
    ]).spawn();
    const stderr = new Response(child.stderr).text();
    const executors = async () =>
      (await host.client.listAgents({ type: "paglets.runner.executor" })).agents.length;
    await eventually("the Runner's executors run", async () => await executors() > 0, 60_000);
    child.kill("SIGINT");
    const exit = await child.status;
    child = null;
    assertEquals(exit.code, 130, await stderr);
    // Disposed before the exit, not after the executors' idle timeout.
    assertEquals(await executors(), 0);
  } finally {
    child?.kill("SIGKILL");
    await child?.status;
    await stopAll();
  }
});

/**
 * Runs `paglets run` on the fixture `script` against `entry`, sends SIGINT once its stdout so far
 * satisfies `ready`, and answers everything it printed, what it printed before the signal, its exit
 * code and its stderr.
 */
async function interruptedRun(script: string, entry: string, ready: (stdout: string) => boolean) {
  const path = new URL(`./fixtures/${script}`, import.meta.url).pathname;
  const child = pagletsCommand(["run", path, "--entry", entry]).spawn();
  const stderr = new Response(child.stderr).text();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  const read = async () => {
    const { value, done } = await lines.read();
    if (!done) stdout += value;
    return !done;
  };
  while (!ready(stdout) && await read());
  const before = stdout;
  child.kill("SIGINT");
  while (await read());
  return { stdout, before, code: (await child.status).code, stderr: await stderr };
}

Deno.test("a script interrupted while it creates paglets makes none after the signal", async () => {
  try {
    const host = await startHost({ name: "entry" });
    const created = (text: string) => text.split("\n").filter((l) => l.startsWith("created ")).length;
    const run = await interruptedRun("creating_script.ts", host.url, (text) => created(text) >= 3);
    assertEquals(run.code, 130, run.stderr);
    // One creation may have been under way at the signal; none began after it.
    const before = created(run.before);
    assert(created(run.stdout) <= before + 1, `${created(run.stdout)} made, ${before} before the signal`);
    assert((await host.client.listAgents()).agents.length <= before + 1);
    assert(!run.stderr.includes("Uncaught"), run.stderr);
  } finally {
    await stopAll();
  }
});

Deno.test("a script interrupted opens no Runner after the signal: no executor is left holding a core", async () => {
  try {
    const host = await startHost({ name: "entry" });
    const run = await interruptedRun("late_runner_script.ts", host.url, (text) => text.includes("created "));
    assertEquals(run.code, 130, run.stderr);
    assert(run.stdout.includes("runner: interrupted"), run.stdout);
    assertEquals((await host.client.listAgents({ type: "paglets.runner.executor" })).agents, []);
  } finally {
    await stopAll();
  }
});
