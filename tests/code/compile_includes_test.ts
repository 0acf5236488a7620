/**
 * The compiled binary embeds everything loaded at run time: every `new URL("...", import.meta.url)`
 * in the product's source (workers, modules imported by URL, wasm) is under an entry of
 * scripts/compile_includes.ts. Static imports need no entry: `deno compile` follows them.
 */
import { join, relative, resolve } from "node:path";
import { assert } from "../helpers/assert.ts";
import { COMPILE_INCLUDES } from "../../scripts/compile_includes.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const SOURCE_DIRS = ["host", "agents", "services", "examples", "cli"];
const RUNTIME_URL = /new URL\(\s*"([^"]+\.(?:ts|js|wasm))",\s*import\.meta\.url\s*\)/g;

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && entry.name !== "testdata" && entry.name !== "fixtures") yield* sourceFiles(path);
    else if (/\.(ts|js)$/.test(entry.name) && !/_test\.ts$/.test(entry.name)) yield path;
  }
}

Deno.test("every module, worker and wasm loaded by URL at run time is in the compile list", async () => {
  const targets: { from: string; target: string }[] = [];
  const files: string[] = [join(ROOT, "main.ts")];
  for (const dir of SOURCE_DIRS) for await (const file of sourceFiles(join(ROOT, dir))) files.push(file);
  for (const file of files) {
    // Doc comments show examples, not loads.
    const code = (await Deno.readTextFile(file)).split("\n").filter((l) => !/^\s*(\*|\/\/)/.test(l)).join(
      "\n",
    );
    for (const match of code.matchAll(RUNTIME_URL)) {
      targets.push({
        from: relative(ROOT, file),
        target: relative(ROOT, resolve(join(file, ".."), match[1])),
      });
    }
  }
  assert(targets.some((t) => t.target.endsWith("agent_worker.ts")), "the scan finds the agent worker");
  assert(targets.some((t) => t.target === "cli/program.ts"), "the scan reads main.ts");
  const missing = targets.filter((t) =>
    !COMPILE_INCLUDES.some((inc) => inc.endsWith("/") ? t.target.startsWith(inc) : t.target === inc)
  );
  assert(
    missing.length === 0,
    `not embedded by scripts/compile.ts: ${
      missing.map((m) => `${m.target} (loaded by ${m.from})`).join(", ")
    }`,
  );
  // dist/ is built (compile.ts builds the host bundle before it compiles); the rest is source.
  for (const inc of COMPILE_INCLUDES) if (!inc.startsWith("dist/")) await Deno.stat(join(ROOT, inc));
});
