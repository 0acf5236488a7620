/** The guide's examples stay true: they type-check, and the first one runs on a real host. */
import { assert, assertEquals } from "../helpers/assert.ts";
import { testHost } from "../helpers/in_process.ts";

const GUIDE = new URL("../../docs/writing-paglets.md", import.meta.url);
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

Deno.test("every code block of docs/writing-paglets.md type-checks", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", "--config", CONFIG, "--doc-only", GUIDE.pathname],
    env: { NO_COLOR: "1" },
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
});

Deno.test("the guide's first paglet runs on a host loaded with --module", async () => {
  const guide = await Deno.readTextFile(GUIDE);
  const greeter = guide.split("```ts\n").find((block) => block.startsWith("// greeter.ts"));
  assert(greeter, "the guide starts with greeter.ts");
  const dir = await Deno.makeTempDir({ prefix: "paglets-guide-" });
  try {
    const file = `${dir}/greeter.ts`;
    await Deno.writeTextFile(file, greeter.slice(0, greeter.indexOf("```")));
    await using h = await testHost({ modules: [`file://${file}`] });
    const { id } = await h.client.createAgent({ type: "guide.greeter", args: { greeting: "Hi" } });
    assertEquals(await h.client.send(id, { kind: "greet", args: { name: "Ada" } }), { text: "Hi, Ada!" });
    assertEquals(await h.client.send(id, { kind: "greeted" }), { names: ["Ada"] });
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
