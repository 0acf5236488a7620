/**
 * `paglets sys` and `paglets jobs` against real hosts: the host asked alone failing is the command's
 * `error [code]: message`, with nothing on stdout; `sys df` refuses an empty path before any request
 * and says why a path cannot be read; `sys ps --args` shows whole command lines and never the CLI's
 * own process (whose command line holds the query); a named job group nobody has is `not_found`;
 * `jobs rm` declined at its prompt removes nothing (exit 1), and without a terminal asks for
 * `--force`.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { jsonOf, paglets } from "../helpers/cli.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { tempDir } from "../helpers/temp.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;
const ENV = { NO_COLOR: "1", PAGLETS_ENTRY: "", PAGLETS_API_KEY: "" };
const LINUX = Deno.build.os === "linux";

/** Whether `program` runs here (`script` gives the CLI a terminal; `timeout` wraps it). */
async function runs(program: string): Promise<boolean> {
  try {
    return (await new Deno.Command(program, { args: ["--version"], stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}
const HAS_SCRIPT = LINUX && await runs("script");
const HAS_TIMEOUT = LINUX && await runs("timeout");

/** The argv of `paglets ...args` as a subprocess runs it (for wrappers: timeout, script). */
function cliArgv(args: string[]): string[] {
  return [Deno.execPath(), "run", "--allow-all", "--quiet", "--config", CONFIG, MAIN, ...args];
}

function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

Deno.test("a host asked alone that refuses the API key: one error line, nothing on stdout", async () => {
  try {
    const host = await startHost({ name: "sys-jobs-key", apiKey: "the-right-key" });
    const commands = [
      ["jobs", "status"],
      ["jobs", "status", "--json"],
      ["jobs", "ps"],
      ["jobs", "ps", "--json"],
      ["sys", "summary"],
      ["sys", "load", "--json"],
      ["sys", "df"],
      ["sys", "ps", "deno"],
    ];
    const results = await Promise.all(
      commands.map((args) => paglets([...args, "--entry", host.url], { PAGLETS_API_KEY: "a-wrong-key" })),
    );
    for (const [i, run] of results.entries()) {
      const what = `${commands[i].join(" ")}: ${run.stdout}${run.stderr}`;
      assertEquals([run.code, run.stdout], [1, ""], what);
      assert(/^error \[unauthorized\]: [^\n]+\n$/.test(run.stderr), what);
    }
  } finally {
    await stopAll();
  }
});

Deno.test("sys df: an empty path is invalid_request before any request; unreadable paths say why", async () => {
  try {
    const host = await startHost({ name: "sys-jobs-df" });
    const entry = ["--entry", host.url];
    const dir = await tempDir("paglets-cli-df-");
    const [empty, second, missing, missingJson, partial] = await Promise.all([
      paglets(["sys", "df", "", ...entry]),
      paglets(["sys", "df", dir, "", ...entry]),
      paglets(["sys", "df", `${dir}/data`, `${dir}/scratch`, ...entry]),
      paglets(["sys", "df", `${dir}/data`, "--json", ...entry]),
      paglets(["sys", "df", dir, `${dir}/scratch`, ...entry]),
    ]);
    for (const [run, n] of [[empty, 1], [second, 2]] as const) {
      assertEquals([run.code, run.stdout], [2, ""], run.stderr);
      assertEquals(
        run.stderr.split("\n")[0],
        `error [invalid_request]: path ${n} of sys df is empty: name a file or folder on the host ` +
          "(no path: its data dir and /)",
      );
    }
    // No path readable: the reasons, exit 1, no empty table.
    assertEquals([missing.code, missing.stdout], [1, ""], missing.stderr);
    assertEquals(
      missing.stderr,
      `error [not_found]: No path could be read: ${dir}/data: no such file or directory; ` +
        `${dir}/scratch: no such file or directory\n`,
    );
    assertEquals([missingJson.code, missingJson.stdout], [1, ""], missingJson.stderr);
    assert(missingJson.stderr.startsWith("error [not_found]: No path could be read:"), missingJson.stderr);
    // Some path readable: its row, and a warning with the reason for the other.
    assertEquals(partial.code, 0, partial.stderr);
    assert(partial.stdout.includes(dir), partial.stdout);
    assertEquals(partial.stderr, `warning sys-jobs-df ${dir}/scratch: no such file or directory\n`);
  } finally {
    await stopAll();
  }
});

Deno.test({
  name: "sys ps --args shows whole command lines, and never the CLI's own process or its timeout",
  ignore: !LINUX,
  fn: async () => {
    try {
      const name = `sys-jobs-ps-${crypto.randomUUID().slice(0, 8)}`;
      const host = await startHost({ name });
      const entry = ["--entry", host.url];
      // The host's own command line is long (deno run ... main.ts host --name ... --data-dir ...).
      const cmdline = (await Deno.readTextFile(`/proc/${host.process.pid}/cmdline`))
        .split("\0").filter(Boolean).join(" ");
      assert(cmdline.length > 100, cmdline);
      const whole = await paglets(["sys", "ps", name, "--args", ...entry]);
      assertEquals(whole.code, 0, whole.stderr);
      assert(whole.stdout.includes(cmdline), `${cmdline}\n${whole.stdout}`);
      // Its command line holds the query, yet the CLI does not find itself (one at a time: each
      // would find the other).
      const query = `nosuchprocess-${crypto.randomUUID().slice(0, 8)}`;
      const json = await paglets(["sys", "ps", query, "--args", "--json", ...entry]);
      const table = await paglets(["sys", "ps", query, ...entry]);
      assertEquals(jsonOf<{ processes: unknown[]; matched: number }>(json).processes, []);
      assertEquals(
        [table.code, table.stdout],
        [0, `No process matches '${query}' on ${name}.\n`],
        table.stderr,
      );
      if (HAS_TIMEOUT) {
        // Nor the `timeout` running it, whose command line holds the query too.
        const wrapped = await new Deno.Command("timeout", {
          args: ["120", ...cliArgv(["sys", "ps", query, "--json", ...entry])],
          env: ENV,
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).output();
        const stderr = new TextDecoder().decode(wrapped.stderr);
        assertEquals(wrapped.code, 0, stderr);
        const reply = JSON.parse(new TextDecoder().decode(wrapped.stdout)) as { processes: unknown[] };
        assertEquals(reply.processes, [], stderr);
      }
    } finally {
      await stopAll();
    }
  },
});

Deno.test("jobs groups --group that nobody has is not_found on stderr, nothing on stdout", async () => {
  try {
    const host = await startHost({ name: "sys-jobs-groups" });
    const runs = await Promise.all([
      paglets(["jobs", "groups", "--group", "nope", "--entry", host.url]),
      paglets(["jobs", "groups", "--group", "nope", "--json", "--entry", host.url]),
    ]);
    for (const run of runs) {
      assertEquals([run.code, run.stdout], [1, ""], run.stderr);
      assertEquals(run.stderr, "error [not_found]: No group 'nope' in the mesh\n");
    }
  } finally {
    await stopAll();
  }
});

Deno.test("jobs rm: declined at the prompt removes nothing (exit 1); no terminal needs --force", async (t) => {
  try {
    const host = await startHost({ name: "sys-jobs-rm" });
    const entry = ["--entry", host.url];
    // A job that waits and uses no CPU: it asks for all of the host's memory, which the host has
    // (so it is not refused as never runnable) but never has free.
    const { reply } = await host.client.request<{ reply: { host: { memoryTotalBytes: number } } }>(
      "POST",
      "/v1/services/compute-slots/status",
      {},
    );
    const { id } = await host.client.createAgent({
      type: "demo.spinjob",
      state: { cpuCores: 1, memoryBytes: reply.host.memoryTotalBytes, ms: 0 },
    });
    const computeStatus = async () =>
      ((await host.client.getAgent(id)).state as { computeStatus: string }).computeStatus;
    await eventually("the job waits", async () => await computeStatus() === "WAITING_FOR_SLOT", 20_000);

    await t.step("stdin that is no terminal: invalid_request naming --force", async () => {
      const run = await paglets(["jobs", "rm", "--all", ...entry]);
      assertEquals([run.code, run.stdout], [2, ""], run.stderr);
      assertEquals(
        run.stderr.split("\n")[0],
        "error [invalid_request]: Removing 1 job(s) asks for a yes on a terminal, and stdin is not one: " +
          "pass --force to remove without asking",
      );
      assertEquals(await computeStatus(), "WAITING_FOR_SLOT");
    });

    await t.step({
      name: "answering n on a terminal: Nothing removed, exit 1",
      ignore: !HAS_SCRIPT,
      fn: async () => {
        // `script` runs the CLI on a pseudo-terminal; "n" is typed once the question is asked.
        const command = cliArgv(["jobs", "rm", "--all", ...entry]).map(shellQuote).join(" ");
        const child = new Deno.Command("script", {
          args: ["-qec", command, "/dev/null"],
          env: ENV,
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(120_000),
        }).spawn();
        const stderr = new Response(child.stderr).text();
        const writer = child.stdin.getWriter();
        let output = "";
        let answered = false;
        for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
          output += chunk;
          if (!answered && output.includes("[y/N]")) {
            answered = true;
            await writer.write(new TextEncoder().encode("n\n"));
          }
        }
        await writer.close().catch(() => {});
        const { code } = await child.status;
        assert(answered, `no question asked:\n${output}${await stderr}`);
        assertEquals(code, 1, `${output}${await stderr}`);
        assert(output.includes("Nothing removed."), output);
        assert(!output.includes("error"), output);
        assertEquals(await computeStatus(), "WAITING_FOR_SLOT");
      },
    });
  } finally {
    await stopAll();
  }
});
