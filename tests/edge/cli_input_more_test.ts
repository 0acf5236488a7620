/**
 * More of the user's input checked where it is typed: `--entry`/PAGLETS_ENTRY values that are no
 * host URL, `host --port/--bind/--public-url` values, and an empty agent id are `error [code]`
 * lines with exit status 2, before any request or start. And `follow` starts at the end of the
 * event log, its streamed text ending its line before the next notification.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { paglets, pagletsCommand } from "../helpers/cli.ts";
import { freePort, type HostProcess, startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { tempDir } from "../helpers/temp.ts";
import { testWithoutDefaultEntry } from "../helpers/default_entry.ts";

/** Nothing listens here: a command that got as far as a request would fail `host_unreachable`. */
const NOWHERE = `http://127.0.0.1:${freePort()}`;

function notify(host: HostProcess, title: string): Promise<unknown> {
  return host.client.request("POST", "/v1/services/user-info/notify", { title });
}

function stream(host: HostProcess, text: string): Promise<unknown> {
  return host.client.request("POST", "/v1/services/user-info/stream", {
    streamId: "s1",
    text,
    target: "stdout",
  });
}

Deno.test("follow without --since prints only what comes after it started; streamed text ends its line", async () => {
  try {
    const host = await startHost({ name: "followed-end" });
    await notify(host, "Old one");
    await stream(host, "old text\n");
    await notify(host, "Old two");
    const child = pagletsCommand(["follow", "--entry", host.url]).spawn();
    const stderr = new Response(child.stderr).text();
    let stdout = "";
    try {
      await eventually(
        "follow connected",
        async () => (await host.client.hostInfo()).eventStreams === 1,
        20_000,
      );
      await stream(host, "partial line");
      await notify(host, "New one");
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        stdout += chunk;
        if (stdout.includes("New one")) break;
      }
    } finally {
      child.kill("SIGINT");
      await child.status;
      await stderr;
    }
    assert(!stdout.includes("Old") && !stdout.includes("old text"), `history replayed:\n${stdout}`);
    const lines = stdout.split("\n");
    assertEquals(lines[0], "partial line", stdout);
    assert(/^\[.*\] INFO: New one$/.test(lines[1]), stdout);
  } finally {
    await stopAll();
  }
});

Deno.test("an --entry or PAGLETS_ENTRY that is no host URL is invalid_request, before any request", async () => {
  const message = (source: string, value: string) =>
    `error [invalid_request]: ${source} must be a host name, host:port or an http(s) URL such as http://127.0.0.1:8765: got '${value}'`;
  const port = freePort();
  const cases: [string[], Record<string, string>, string][] = [
    [["-e", "http://"], {}, message("--entry", "http://")],
    [["-e", "http:"], {}, message("--entry", "http:")],
    [["-e", `ftp://127.0.0.1:${port}`], {}, message("--entry", `ftp://127.0.0.1:${port}`)],
    [["-e", "http://127.0.0.1:99999"], {}, message("--entry", "http://127.0.0.1:99999")],
    [["-e", ""], {}, message("--entry", "")],
    [["--entry", "two words"], { PAGLETS_ENTRY: NOWHERE }, message("--entry", "two words")],
    [[], { PAGLETS_ENTRY: "garbage url with spaces" }, message("PAGLETS_ENTRY", "garbage url with spaces")],
    [[], { PAGLETS_ENTRY: "ftp://127.0.0.1:21" }, message("PAGLETS_ENTRY", "ftp://127.0.0.1:21")],
  ];
  const runs = await Promise.all(cases.map(([args, env]) => paglets(["agents", "ls", ...args], env)));
  for (const [i, [args, env]] of cases.entries()) {
    const what = `${args.join(" ")} ${JSON.stringify(env)}`;
    assertEquals([runs[i].code, runs[i].stderr.trim()], [2, cases[i][2]], what);
  }
  // host:port and a URL are taken: they reach the request (nothing listens there).
  for (const entry of [`127.0.0.1:${port}`, `http://127.0.0.1:${port}/`]) {
    const run = await paglets(["agents", "ls", "-e", entry]);
    assertEquals(run.code, 1, run.stderr);
    assert(
      run.stderr.startsWith(`error [host_unreachable]: Cannot reach http://127.0.0.1:${port}`),
      run.stderr,
    );
  }
});

Deno.test("a bare --entry name is still the mesh host of that name", async () => {
  try {
    const host = await startHost({ name: "bare-name" });
    const run = await paglets(["agents", "ls", "-e", "bare-name", "--json"], { PAGLETS_ENTRY: host.url });
    assertEquals([run.code, JSON.parse(run.stdout)], [0, []], run.stderr);
  } finally {
    await stopAll();
  }
});

Deno.test("host --port '', --public-url and --bind that are no address fail before the host starts", async () => {
  const dir = await tempDir("paglets-cli-host-options-");
  const cases: [string[], string][] = [
    [["--port", ""], "--port must be 0..65535: got ''"],
    [["--port", "1e3"], "--port must be 0..65535: got '1e3'"],
    [
      ["--public-url", "notaurl"],
      "--public-url must be an http(s) URL such as http://10.0.0.5:8765: got 'notaurl'",
    ],
    [
      ["--public-url", "ftp://10.0.0.5:8765"],
      "--public-url must be an http(s) URL such as http://10.0.0.5:8765: got 'ftp://10.0.0.5:8765'",
    ],
    [
      ["--bind", "999.1.1.1"],
      "--bind must be an IP address (such as 127.0.0.1, 0.0.0.0 or ::1) or a host name: got '999.1.1.1'",
    ],
    [
      ["--bind", "not an address"],
      "--bind must be an IP address (such as 127.0.0.1, 0.0.0.0 or ::1) or a host name: got 'not an address'",
    ],
  ];
  const runs = await Promise.all(
    cases.map(([args], i) =>
      paglets(["host", "--name", "bad-options", "--port", "0", "--data-dir", `${dir}/h${i}`, ...args])
    ),
  );
  for (const [i, [args, message]] of cases.entries()) {
    const run = runs[i];
    assertEquals(run.code, 2, `${args.join(" ")}: ${run.stdout}${run.stderr}`);
    // One error line and the hint to the help: no warning about an API key, nothing listening.
    assertEquals(run.stderr.split("\n")[0], `error [invalid_request]: ${message}`, args.join(" "));
    assert(!run.stderr.includes("warning"), run.stderr);
    assertEquals(run.stdout, "", args.join(" "));
    assert(!await exists(`${dir}/h${i}`), `${args.join(" ")} created its data folder`);
  }
});

Deno.test("an empty agent id is bad_request, as any malformed id is, before any request", async () => {
  try {
    const host = await startHost({ name: "empty-id" });
    const commands: string[][] = [
      ["show", ""],
      ["rm", ""],
      ["deactivate", ""],
      ["activate", ""],
      ["dispatch", "", host.url],
      ["clone", ""],
      ["retract", "", host.url],
      ["send", "", "get"],
      ["show", ".."],
      ["show", "a/b"],
    ];
    const runs = await Promise.all(commands.map((args) => paglets(["agents", ...args, "--entry", host.url])));
    for (const [i, args] of commands.entries()) {
      assertEquals(
        [runs[i].code, runs[i].stderr.trim()],
        [2, `error [bad_request]: Malformed agent id '${args[1]}'`],
        args.join(" "),
      );
    }
  } finally {
    await stopAll();
  }
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

testWithoutDefaultEntry(
  "paglets run of a script that is not there fails before any host is looked for or started",
  async () => {
    for (const [file, code] of [["/nonexistent/script.ts", "not_found"], ["/tmp", "invalid_request"]]) {
      const run = await paglets(["run", file]);
      assert(run.stderr.includes(`error [${code}]: Script ${file}`), run.stderr);
      assert(!run.stderr.includes("embedded"), `a host was started for ${file}: ${run.stderr}`);
      assertEquals(run.code, code === "not_found" ? 1 : 2, run.stderr);
    }
  },
);

Deno.test("mesh summary and mesh targets take a whole --limit", async () => {
  for (const command of ["summary", "targets"]) {
    const run = await paglets(["mesh", command, "--limit", "1.5", "--entry", NOWHERE]);
    assertEquals(run.code, 2, run.stderr);
    assert(run.stderr.includes("error [invalid_request]: --limit must be a whole number"), run.stderr);
  }
});

Deno.test("mesh targets exits 1 when no host fits, with --json too, and 0 when one does", async () => {
  try {
    const host = await startHost({ name: "targets" });
    for (const json of [[], ["--json"]]) {
      const none = await paglets(["mesh", "targets", "--tag", "no-such-tag", "--entry", host.url, ...json]);
      assertEquals(none.code, 1, none.stderr);
      assert(
        json.length ? JSON.parse(none.stdout).targets.length === 0 : none.stdout.includes("No host"),
        none.stdout,
      );
    }
    const some = await paglets([
      "mesh",
      "targets",
      "--max-load-per-cpu",
      "1000",
      "--entry",
      host.url,
      "--json",
    ]);
    assertEquals(some.code, 0, some.stderr);
    assertEquals(JSON.parse(some.stdout).targets.length, 1);
  } finally {
    await stopAll();
  }
});
