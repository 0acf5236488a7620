/**
 * The CLI tells the truth about failures: usage errors exit 2, and commands that read or drive a
 * host never start one of their own when none answers; they fail and say how to name one.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { jsonOf, paglets } from "../helpers/cli.ts";
import { stepWithoutDefaultEntry } from "../helpers/default_entry.ts";
import { freePort, startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { tempDir } from "../helpers/temp.ts";
import { meshHosts } from "../mesh/helpers.ts";

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

Deno.test("reading commands with no host answering fail with a hint and start no host", async (t) => {
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
  // With no entry named at all the default address is tried, and still no host is started.
  await stepWithoutDefaultEntry(t, "with no entry named", async () => {
    const run = await paglets(["jobs", "queue"]);
    assertEquals(run.code, 1, run.stderr);
    assert(/\[host_unreachable\]/.test(run.stderr), run.stderr);
    assert(!/embedded/.test(run.stderr + run.stdout), run.stderr);
  });
});

Deno.test("agents send takes its arguments from a file or stdin; show follows a moved agent; mesh hosts shows properties", async (t) => {
  try {
    const alpha = await startHost({
      name: "alpha",
      args: ["--max-body-bytes", "4K", "--property", "python=3.12"],
    });
    const beta = await startHost({ name: "beta", args: ["--peer", alpha.url] });
    const { id } = await alpha.client.createAgent({ type: "demo.counter" });
    const dir = await tempDir("paglets-cli-args-");

    await t.step("--args @file and --args - (stdin)", async () => {
      await Deno.writeTextFile(`${dir}/by.json`, JSON.stringify({ by: 5 }));
      const fromFile = jsonOf<{ count: number }>(
        await paglets(["agents", "send", id, "increment", "--args", `@${dir}/by.json`, "--entry", alpha.url]),
      );
      assertEquals(fromFile.count, 5);
      const fromStdin = jsonOf<{ count: number }>(
        await paglets(
          ["agents", "send", id, "increment", "--args", "-", "--entry", alpha.url],
          {},
          '{"by": 2}',
        ),
      );
      assertEquals(fromStdin.count, 7);
    });

    await t.step(
      "bad arguments are the user's mistake (exit 2); a body past --max-body-bytes is 413",
      async () => {
        await Deno.writeTextFile(`${dir}/bad.json`, "{by: 5");
        for (const args of [`@${dir}/bad.json`, `@${dir}/missing.json`, "[1]"]) {
          const run = await paglets([
            "agents",
            "send",
            id,
            "increment",
            "--args",
            args,
            "--entry",
            alpha.url,
          ]);
          assertEquals(run.code, 2, `${args}: ${run.stderr}`);
          assert(/\[(invalid_request|malformed_json)\]/.test(run.stderr), run.stderr);
        }
        await Deno.writeTextFile(`${dir}/big.json`, JSON.stringify({ by: 1, pad: "x".repeat(5000) }));
        const big = await paglets([
          "agents",
          "send",
          id,
          "increment",
          "--args",
          `@${dir}/big.json`,
          "--entry",
          alpha.url,
        ]);
        assertEquals(big.code, 1, big.stderr);
        assert(/\[payload_too_large\]/.test(big.stderr), big.stderr);
        assert(big.stderr.includes("--max-body-bytes") && big.stderr.includes("artifact"), big.stderr);
      },
    );

    await t.step("agents show follows the agent to the host it moved to", async () => {
      await eventually(
        "beta joined",
        async () => (await meshHosts(alpha)).some((h) => h.name === "beta" && h.online),
      );
      jsonOf(await paglets(["agents", "dispatch", id, beta.url, "--entry", alpha.url, "--json"]));
      const shown = jsonOf<
        { status: string; foundAt: string; movedThrough: string[]; state: { count: number } }
      >(
        await paglets(["agents", "show", id, "--entry", alpha.url]),
      );
      assertEquals([shown.status, shown.foundAt, shown.movedThrough], ["active", beta.url, [alpha.url]]);
      assertEquals(shown.state.count, 7);
    });

    await t.step("mesh hosts shows each host's properties", async () => {
      const run = await paglets(["mesh", "hosts", "--entry", beta.url]);
      assertEquals(run.code, 0, run.stderr);
      assert(run.stdout.includes("python=3.12"), run.stdout);
    });
  } finally {
    await stopAll();
  }
});

Deno.test("a host that refuses the CLI's API key is named, with what to set", async () => {
  try {
    const host = await startHost({ name: "keyed", apiKey: "the-right-key" });
    const wrong = await paglets(["agents", "ls", "--entry", host.url], { PAGLETS_API_KEY: "a-wrong-key" });
    assertEquals(wrong.code, 1, wrong.stderr);
    assert(
      wrong.stderr.includes(`error [unauthorized]: ${host.url} refused the API key`) &&
        wrong.stderr.includes("PAGLETS_API_KEY"),
      wrong.stderr,
    );
    const none = await paglets(["agents", "ls", "--entry", host.url]);
    assert(none.stderr.includes(`${host.url} needs an API key: set PAGLETS_API_KEY`), none.stderr);
  } finally {
    await stopAll();
  }
});
