/** docs/writing-scripts.md stays true: its code type-checks, and its script runs with `paglets run`. */
import { assert } from "../helpers/assert.ts";
import { paglets } from "../helpers/cli.ts";

const GUIDE = new URL("../../docs/writing-scripts.md", import.meta.url);
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

Deno.test("every code block of docs/writing-scripts.md type-checks", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", "--config", CONFIG, "--doc-only", GUIDE.pathname],
    env: { NO_COLOR: "1" },
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
});

Deno.test("the guide's script runs with paglets run on an embedded host", async () => {
  const guide = await Deno.readTextFile(GUIDE);
  const block = guide.split("```ts\n")[1];
  const dir = await Deno.makeTempDir({ prefix: "paglets-scripts-guide-" });
  try {
    const file = `${dir}/tally.ts`;
    await Deno.writeTextFile(file, block.slice(0, block.indexOf("```")));
    const out = await paglets(["run", file], { PAGLETS_HOME: dir });
    assert(out.code === 0, out.stderr);
    assert(/count: 1/.test(out.stdout) && /host: "embedded"/.test(out.stdout), out.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
