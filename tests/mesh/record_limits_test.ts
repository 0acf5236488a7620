/**
 * What a host publishes in its mesh record (mesh version, tags, properties, URL) is held at start to
 * the limits the gossip schema holds records to (host/mesh/record_limits.ts): a host past them used
 * to start and then never join, silently, as every peer refused its record with 422.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { paglets } from "../helpers/cli.ts";
import { freePort, startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { tempDir } from "../helpers/temp.ts";
import { type HostOptions, resolveOptions } from "../../host/options.ts";
import { MemberRecordSchema } from "../../host/mesh/protocol.ts";
import type { MemberRecord } from "../../host/mesh/membership.ts";
import { FAST_MESH, meshHosts } from "./helpers.ts";

const tags = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);

Deno.test("paglets host refuses metadata the mesh would refuse: invalid_request (exit 2) naming the option and the limit", async () => {
  const dir = await tempDir("paglets-record-limits-");
  const cases: [string[], string][] = [
    [["--mesh-version", "v".repeat(300)], "--mesh-version must be at most 200 characters"],
    [["--tag", "t".repeat(150)], "--tag must be at most 100 characters"],
    [tags(101).flatMap((t) => ["--tag", t]), "--tag: a host has at most 100 tags"],
    [["--property", `k=${"v".repeat(2500)}`], "--property k=VALUE must be at most 2000 characters"],
    [["--property", `${"k".repeat(201)}=v`], "--property KEY must be at most 200 characters"],
    [
      ["--public-url", `http://lab.lan:8765/${"p".repeat(2048)}`],
      "--public-url must be at most 2048 characters",
    ],
  ];
  const runs = await Promise.all(
    cases.map(([args], i) =>
      paglets(["host", "--name", "too-much", "--port", "0", "--data-dir", `${dir}/h${i}`, ...args])
    ),
  );
  for (const [i, [args, message]] of cases.entries()) {
    const what = args.slice(0, 2).join(" ").slice(0, 60);
    assertEquals(runs[i].code, 2, `${what}: ${runs[i].stdout}${runs[i].stderr}`);
    assert(runs[i].stderr.startsWith(`error [invalid_request]: ${message}`), `${what}: ${runs[i].stderr}`);
    assertEquals(runs[i].stdout, "", what);
  }
});

Deno.test("HostOptions given in code are held to the gossip schema's own limits, one past them refused", () => {
  const base = { name: "h", dataDir: "/nonexistent/h" };
  const record = (o: HostOptions): MemberRecord => ({
    name: o.name,
    url: o.publicUrl ?? "http://127.0.0.1:8765",
    meshVersion: o.meshVersion,
    tags: o.tags,
    properties: o.properties,
    cpuCount: 1,
    incarnation: 1,
    heartbeat: 1,
    ageMs: 0,
  });
  const limits: [Partial<HostOptions>, Partial<HostOptions>][] = [
    [{ meshVersion: "v".repeat(200) }, { meshVersion: "v".repeat(201) }],
    [{ meshVersion: "dev", tags: ["t".repeat(100)] }, { tags: ["t".repeat(101)] }],
    [{ tags: tags(100) }, { tags: tags(101) }],
    [{ properties: { ["k".repeat(200)]: "v" } }, { properties: { ["k".repeat(201)]: "v" } }],
    [{ properties: { k: "v".repeat(2000) } }, { properties: { k: "v".repeat(2001) } }],
    [
      { publicUrl: `http://lab.lan/${"p".repeat(2048 - 15)}` },
      { publicUrl: `http://lab.lan/${"p".repeat(2048 - 14)}` },
    ],
  ];
  for (const [fits, over] of limits) {
    const options = resolveOptions({ ...base, ...fits });
    assert(MemberRecordSchema.safeParse(record(options)).success, `the mesh takes ${Object.keys(fits)}`);
    const refused = MemberRecordSchema.safeParse(record({ ...options, ...over } as HostOptions)).success;
    assertEquals(refused, false, `the mesh refuses one more in ${Object.keys(over)}`);
    let code: string | undefined;
    try {
      resolveOptions({ ...base, ...over });
    } catch (err) {
      code = (err as { code?: string }).code;
    }
    assertEquals(code, "invalid_request", `resolveOptions refuses one more in ${Object.keys(over)}`);
  }
  // The URL is published as URL parsing writes it: the schema wants `http://` in lower case.
  const upper = resolveOptions({ ...base, publicUrl: "HTTP://Lab.LAN:8765/" });
  assertEquals(upper.publicUrl, "http://lab.lan:8765");
  assert(MemberRecordSchema.safeParse(record(upper)).success);
  assertEquals(MemberRecordSchema.safeParse({ ...record(upper), url: "HTTP://Lab.LAN:8765" }).success, false);
});

Deno.test("a --public-url in upper case is published in lower case, and the host joins the mesh", async () => {
  try {
    const a = await startHost({ name: "a", args: FAST_MESH });
    const port = freePort();
    const b = await startHost({
      name: "b",
      port,
      args: [...FAST_MESH, "--public-url", `HTTP://LOCALHOST:${port}`, "--peer", a.url],
    });
    assertEquals(b.url, `http://localhost:${port}`);
    await eventually(
      "a to list b online at its URL in lower case",
      async () => (await meshHosts(a)).some((h) => h.name === "b" && h.online && h.url === b.url),
      10_000,
    );
  } finally {
    await stopAll();
  }
});
