/**
 * Bad input on the command line is the user's mistake, said clearly: `error [code]: message` naming
 * the option and quoting the value, exit status 2 (1 for a file that is not there), and never
 * `internal` nor a request carrying NaN to a host.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { jsonOf, paglets } from "../helpers/cli.ts";
import { freePort, startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { tempDir } from "../helpers/temp.ts";
import { meshHosts } from "../mesh/helpers.ts";
import { Command, UsageError } from "../../cli/command.ts";
import { numberOption } from "../../cli/number_option.ts";

/** Nothing listens here: a command that got as far as a request would fail `host_unreachable`. */
const NOWHERE = { PAGLETS_ENTRY: `http://127.0.0.1:${freePort()}` };

Deno.test("an option value that is no number, or out of range, fails before any request", async () => {
  const cases: [string[], string][] = [
    [["agents", "ls", "--timeout", "-1"], "--timeout must be a number from 0.001 to 86400: got '-1'"],
    [["agents", "ls", "--timeout", "abc"], "--timeout must be a number from 0.001 to 86400: got 'abc'"],
    [["follow", "--timeout", "abc"], "--timeout must be a number from 0.001 to 86400: got 'abc'"],
    [["mesh", "targets", "--max-load-per-cpu", "abc"], "--max-load-per-cpu must be a number >= 0: got 'abc'"],
    [["mesh", "targets", "--limit", "abc"], "--limit must be a whole number >= 0: got 'abc'"],
    [["agents", "ls", "--status", "bogus"], "--status must be one of active, inactive, crashed: got 'bogus'"],
    [["mesh", "targets", "--max-cpu-percent", "x"], "--max-cpu-percent must be a number >= 0: got 'x'"],
    [["mesh", "summary", "--max-age", "abc"], "--max-age must be a number >= 0: got 'abc'"],
    [["sys", "ps", "--limit", "abc"], "--limit must be a whole number from 0 to 10000: got 'abc'"],
    [["sys", "ps", "--limit", "-3"], "--limit must be a whole number from 0 to 10000: got '-3'"],
    [["sys", "ps", "--limit", "2.5"], "--limit must be a whole number from 0 to 10000: got '2.5'"],
    [["sys", "load", "--interval", "abc"], "--interval must be a number from 0 to 10: got 'abc'"],
    [["sys", "load", "--interval", "11"], "--interval must be a number from 0 to 10: got '11'"],
    [
      ["agents", "send", "ag_x", "increment", "--priority", "abc"],
      "--priority must be a whole number from 0 to 10: got 'abc'",
    ],
    [
      ["agents", "deactivate", "ag_x", "--after", "abc"],
      "--after must be a number from 0 to 3153600000: got 'abc'",
    ],
    [["artifacts", "put", "x.bin", "--ttl", "0"], "--ttl must be a whole number >= 1: got '0'"],
    // A transfer's longest pause: as ArtifactClient's stallMs, there is no unlimited one.
    [
      ["artifacts", "put", "x.bin", "--timeout", "0"],
      "--timeout must be a number from 0.001 to 86400: got '0'",
    ],
    [
      ["artifacts", "get", "0123456789abcdef0123456789abcdef", "--timeout", "0"],
      "--timeout must be a number from 0.001 to 86400: got '0'",
    ],
    [["jobs", "hosts", "--cores", "0"], "--cores must be a whole number >= 1: got '0'"],
    [
      ["jobs", "ps", "--state", "bogus"],
      "--state must be one of NEW, PLACING, WAITING_FOR_SLOT, RUNNING, COMPLETED, FAILED_FINAL: got 'bogus'",
    ],
    [
      ["jobs", "rm", "--all", "--state", "BOGUS", "-f"],
      "--state must be one of NEW, PLACING, WAITING_FOR_SLOT, RUNNING, COMPLETED, FAILED_FINAL: got 'BOGUS'",
    ],
  ];
  const runs = await Promise.all(cases.map(([args]) => paglets(args, NOWHERE)));
  for (const [i, [args, message]] of cases.entries()) {
    const run = runs[i];
    assertEquals(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    const first = run.stderr.split("\n")[0];
    assertEquals(first, `error [invalid_request]: ${message}`, args.join(" "));
    assert(/\(run 'paglets .* --help' for usage\)/.test(run.stderr), run.stderr);
  }
});

Deno.test("a file to upload that is missing is not_found; a folder is invalid_request", async () => {
  const dir = await tempDir("paglets-cli-put-");
  const missing = await paglets(["artifacts", "put", `${dir}/nonexistent`], NOWHERE);
  assertEquals(missing.code, 1, missing.stderr);
  assertEquals(missing.stderr.trim(), `error [not_found]: No file ${dir}/nonexistent to upload`);
  const folder = await paglets(["artifacts", "put", dir], NOWHERE);
  assertEquals(folder.code, 2, folder.stderr);
  assertEquals(
    folder.stderr.trim(),
    `error [invalid_request]: ${dir} is not a file: artifacts put uploads one file`,
  );
});

Deno.test("host --data-dir that cannot be created is invalid_request naming the folder", async () => {
  const dir = await tempDir("paglets-cli-datadir-");
  await Deno.writeTextFile(`${dir}/file`, "in the way");
  const run = await paglets(["host", "--port", "0", "--data-dir", `${dir}/file/sub`]);
  assertEquals(run.code, 2, run.stderr);
  assert(
    run.stderr.startsWith(`error [invalid_request]: --data-dir ${dir}/file/sub: cannot create the folder`),
    run.stderr,
  );
});

Deno.test("every network command's help says --entry takes a host name or a URL", async () => {
  for (const args of [["agents", "ls"], ["tour"], ["follow"], ["sys", "ps"], ["jobs", "queue"]]) {
    const run = await paglets([...args, "--help"]);
    assertEquals(run.code, 0, run.stderr);
    assert(run.stdout.includes("-e, --entry <name|url>"), `${args.join(" ")}: ${run.stdout}`);
  }
});

Deno.test("a parser's failure is a usage error naming the option; Number takes numbers >= 0", async () => {
  const root = new Command("p");
  root.command("c")
    .option("--n <n>", "a count", Number)
    .option("--w <w>", "a word", (v: string) => {
      if (v !== "ok") throw new Error(`expected ok: got '${v}'`);
      return v;
    })
    .option("--k <k>", "up to 3", numberOption("--k", { max: 3, integer: true }))
    .action(() => {});
  const cases: [string[], string][] = [
    [["c", "--n", "abc"], "--n must be a number >= 0: got 'abc'"],
    [["c", "--n", ""], "--n must be a number >= 0: got ''"],
    [["c", "--w", "no"], "--w: expected ok: got 'no'"],
    [["c", "--k", "2.5"], "--k must be a whole number from 0 to 3: got '2.5'"],
    [["c", "--k", "4"], "--k must be a whole number from 0 to 3: got '4'"],
    // Decimal only: not what Number() also reads.
    [["c", "--n", "0x10"], "--n must be a number >= 0: got '0x10'"],
    [["c", "--n", "0b11"], "--n must be a number >= 0: got '0b11'"],
    [["c", "--n", "Infinity"], "--n must be a number >= 0: got 'Infinity'"],
  ];
  for (const [args, message] of cases) {
    try {
      await root.parseAsync(args);
      throw new Error(`${args.join(" ")} was accepted`);
    } catch (err) {
      assert(err instanceof UsageError, `${args.join(" ")}: ${err}`);
      assertEquals([err.code, err.message, err.helpCommand], ["invalid_request", message, "p c --help"]);
    }
  }
});

Deno.test("agents clone follows an agent that moved on, as send and show do", async () => {
  try {
    const alpha = await startHost({ name: "alpha" });
    const beta = await startHost({ name: "beta", args: ["--peer", alpha.url] });
    await eventually(
      "beta joined",
      async () => (await meshHosts(alpha)).some((h) => h.name === "beta" && h.online),
    );
    const { id } = await alpha.client.createAgent({ type: "demo.counter", state: { count: 3 } });
    jsonOf(await paglets(["agents", "dispatch", id, "beta", "--entry", alpha.url, "--json"]));

    const copy = jsonOf<{ id: string; host: string }>(
      await paglets(["agents", "clone", id, "--entry", alpha.url, "--json"]),
    );
    assert(copy.id !== id, copy.id);
    assertEquals(copy.host, beta.url, "with no target the copy lands where the agent is now");
    const home = jsonOf<{ id: string; host: string }>(
      await paglets(["agents", "clone", id, "alpha", "--entry", alpha.url, "--json"]),
    );
    assertEquals(home.host, alpha.url);
    const shown = jsonOf<{ state: { count: number } }>(
      await paglets(["agents", "show", home.id, "--entry", alpha.url]),
    );
    assertEquals(shown.state.count, 3);

    const nobody = await paglets(["agents", "send", "ag_nobody", "get", "--entry", alpha.url]);
    assertEquals(nobody.code, 1, nobody.stderr);
    assertEquals(
      nobody.stderr.trim(),
      "error [agent_not_found]: No agent ag_nobody on host alpha, and no record of where it went",
    );
  } finally {
    await stopAll();
  }
});

Deno.test("host tuning from the environment that is no number, or out of range, is invalid_request naming the variable", async () => {
  const cases: [Record<string, string>, string][] = [
    [
      { PAGLETS_TRANSFER_STALL_MS: "abc" },
      "PAGLETS_TRANSFER_STALL_MS must be a positive integer of milliseconds",
    ],
    [{ PAGLETS_COMPUTE_SAMPLE_MS: "-5" }, "PAGLETS_COMPUTE_SAMPLE_MS must be a number >= 1"],
    [
      { PAGLETS_SSE_KEEPALIVE_MS: "soon" },
      "PAGLETS_SSE_KEEPALIVE_MS must be a positive integer of milliseconds",
    ],
    [{ PAGLETS_HOST_SAMPLE_MS: "20" }, "PAGLETS_HOST_SAMPLE_MS must be a whole number of at least 50 ms"],
  ];
  for (const [env, message] of cases) {
    const dir = await tempDir("paglets-cli-env-");
    const run = await paglets(["host", "--port", "0", "--data-dir", dir], env);
    assertEquals(run.code, 2, run.stderr);
    assert(run.stderr.startsWith(`error [invalid_request]: ${message}`), run.stderr);
  }
});
