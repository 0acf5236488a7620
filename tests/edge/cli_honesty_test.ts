/**
 * The CLI tells the truth about failures: usage errors exit 2, and commands that read or drive a
 * host never start one of their own when none answers; they fail and say how to name one.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { paglets } from "../helpers/cli.ts";
import { freePort } from "../helpers/host_process.ts";

Deno.test("usage errors exit 2; help and version exit 0", async () => {
  const cases: [string[], number, RegExp][] = [
    [["nosuch"], 2, /unknown command 'nosuch'/],
    [["agents", "ls", "--bogus"], 2, /unknown option '--bogus'/],
    [["agents", "send"], 2, /missing required argument/],
    [["host", "--port", "abc"], 2, /\[invalid_request\].*--port/],
    [["--help"], 0, /^$/],
    [["--version"], 0, /^$/],
    [["agents", "--help"], 0, /^$/],
  ];
  for (const [args, code, stderr] of cases) {
    const run = await paglets(args);
    assertEquals(run.code, code, `${args.join(" ")}: ${run.stderr}`);
    assert(stderr.test(run.stderr.trim()), `${args.join(" ")}: ${run.stderr}`);
  }
});

Deno.test("reading commands with no host answering fail with a hint and start no host", async () => {
  const nowhere = `http://127.0.0.1:${freePort()}`;
  const commands = [
    ["jobs", "queue"],
    ["jobs", "status"],
    ["jobs", "groups"],
    ["sys", "load"],
    ["mesh", "hosts"],
    ["mesh", "summary"],
    ["agents", "ls"],
    ["artifacts", "ls"],
  ];
  for (const args of commands) {
    const run = await paglets([...args, "--json"], { PAGLETS_ENTRY: nowhere });
    assertEquals(run.code, 1, `${args.join(" ")}: ${run.stderr}`);
    assert(/\[host_unreachable\]/.test(run.stderr), `${args.join(" ")}: ${run.stderr}`);
    assert(
      /--entry/.test(run.stderr) && /PAGLETS_ENTRY/.test(run.stderr),
      `${args.join(" ")}: ${run.stderr}`,
    );
    assert(!/embedded/.test(run.stderr + run.stdout), `${args.join(" ")} started a host: ${run.stderr}`);
  }
  // With no entry named at all the default address is tried, and still no host is started (when
  // nothing listens on the default port of this machine).
  let defaultFree = true;
  try {
    Deno.listen({ hostname: "127.0.0.1", port: 8765 }).close();
  } catch {
    defaultFree = false;
  }
  if (defaultFree) {
    const run = await paglets(["jobs", "queue"]);
    assertEquals(run.code, 1, run.stderr);
    assert(!/embedded/.test(run.stderr + run.stdout), run.stderr);
  }
});
