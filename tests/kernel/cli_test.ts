/**
 * The admin CLI `paglets agents ls|show|create|send|deactivate|activate|rm`, run as a real
 * subprocess against a test host with --entry (or PAGLETS_ENTRY) and --json.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { fixtureHost } from "./helpers.ts";
import { jsonOf, paglets } from "../helpers/cli.ts";

const json = jsonOf;

Deno.test("paglets agents drives a host's agents with --entry and --json", async (t) => {
  await using h = await fixtureHost();
  const entry = ["--entry", h.host.url];
  let id = "";

  await t.step("create prints the new agent", async () => {
    const created = json(
      await paglets(["agents", "create", "demo.counter", "--state", '{"count": 2}', "--json", ...entry]),
    );
    assertEquals([created.type, created.status], ["demo.counter", "active"]);
    id = String(created.id);
  });

  await t.step(
    "create --code makes a paglet of a type a module on the host defines (a script's)",
    async () => {
      const source = `const { Paglet } = globalThis[Symbol.for("paglets.sdk")];\n` +
        `export class Echo extends Paglet {\n  static type = "test.echo";\n` +
        `  initialState() { return {}; }\n  onMessage(m) { return m.kind; }\n}\n`;
      const put = await h.client.fetch("PUT", "/v1/code", { body: new TextEncoder().encode(source) });
      const { hash } = await put.json() as { hash: string };
      const without = await paglets(["agents", "create", "test.echo", ...entry]);
      assert(without.stderr.includes("agents create --code"), without.stderr);
      const created = json(
        await paglets(["agents", "create", "test.echo", "--code", hash, "--json", ...entry]),
      );
      assertEquals(await h.client.send(String(created.id), { kind: "ping" }), "ping");
      await h.client.dispose(String(created.id));
    },
  );

  await t.step("send prints the reply", async () => {
    assertEquals(json(await paglets(["agents", "send", id, "increment", "--args", '{"by": 3}', ...entry])), {
      count: 5,
    });
  });

  await t.step("show and ls print the record and the list", async () => {
    const [show, ls] = await Promise.all([
      paglets(["agents", "show", id, ...entry]),
      paglets(["agents", "ls", "--type", "demo.counter", "--json", ...entry]),
    ]);
    const record = json(show);
    assertEquals([record.status, (record.state as { count: number }).count], ["active", 5]);
    const list = json<{ id: string }[]>(ls);
    assertEquals(list.map((a) => a.id), [id]);
  });

  await t.step("deactivate and activate print the record", async () => {
    const inactive = json(
      await paglets(["agents", "deactivate", id, "--no-activate-on-message", "--json", ...entry]),
    );
    assertEquals([inactive.status, (inactive.policy as { activateOnMessage: boolean }).activateOnMessage], [
      "inactive",
      false,
    ]);
    const active = json(await paglets(["agents", "activate", id, "--json", ...entry]));
    assertEquals(active.status, "active");
  });

  await t.step("ls without --json prints a table; rm disposes", async () => {
    const [table, rm] = await Promise.all([
      paglets(["agents", "ls", ...entry]),
      paglets(["agents", "rm", id, "--json", ...entry]).then(json),
    ]);
    assertEquals(table.code, 0);
    assert(table.stdout.includes("queuedMessages") || table.stdout.includes(id), table.stdout);
    assertEquals(rm, { ok: true, id });
  });

  await t.step("PAGLETS_ENTRY names the host when --entry is absent (host:port is enough)", async () => {
    const { hostname, port } = new URL(h.host.url);
    const list = json<unknown[]>(
      await paglets(["agents", "ls", "--json"], { PAGLETS_ENTRY: `${hostname}:${port}` }),
    );
    assertEquals(list, []);
  });
});

Deno.test("paglets agents answers bad input with a non-zero exit and error [code]", async () => {
  await using h = await fixtureHost({ apiKey: "k3y" });
  const entry = ["--entry", h.host.url];
  const key = { PAGLETS_API_KEY: "k3y" };
  const { id } = await h.client.createAgent({ type: "demo.counter" });
  const cases: [string[], Record<string, string>, string][] = [
    [["agents", "send", "ag_nobody", "get", ...entry], key, "agent_not_found"],
    [["agents", "create", "no.such.type", ...entry], key, "unknown_agent_type"],
    [["agents", "send", id, "increment", "--args", "{not json", ...entry], key, "malformed_json"],
    [["agents", "send", id, "increment", "--args", "[1]", ...entry], key, "invalid_request"],
    [["agents", "ls", ...entry], {}, "unauthorized"],
    [["agents", "ls", "--bogus-flag", ...entry], key, "bad_request"],
  ];
  const runs = await Promise.all(cases.map(([args, env]) => paglets(args, env)));
  runs.forEach((run, i) => {
    const code = cases[i][2];
    assert(run.code !== 0, `${cases[i][0].join(" ")} exited 0`);
    assert(run.stderr.includes(`error [${code}]`), `expected error [${code}], got: ${run.stderr}`);
  });
});

Deno.test("agents ls --limit shows at most that many and says on stderr when the list reached it", async () => {
  await using h = await fixtureHost({});
  for (let i = 0; i < 3; i++) await h.client.createAgent({ type: "demo.counter" });
  const cut = await paglets(["agents", "ls", "--limit", "2", "--json", "--entry", h.host.url]);
  assertEquals(cut.code, 0, cut.stderr);
  assertEquals(JSON.parse(cut.stdout).length, 2);
  assert(cut.stderr.includes("showing the first 2 agents"), cut.stderr);
  const all = await paglets(["agents", "ls", "--limit", "3", "--json", "--entry", h.host.url]);
  assertEquals([JSON.parse(all.stdout).length, all.stderr.includes("showing")], [3, false]);
  const bad = await paglets(["agents", "ls", "--limit", "0", "--entry", h.host.url]);
  assertEquals(bad.code, 2, bad.stderr);
});
