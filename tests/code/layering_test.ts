/**
 * The dependency direction: host/, agents/ and services/ never import examples/ (examples register
 * themselves through the CLI, as a user's module does), and agents/ never imports host/.
 */
import { join, relative, resolve } from "node:path";
import { assertEquals } from "../helpers/assert.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const SPECIFIER = /(?:from\s+|import\s*\(\s*|import\s+|new URL\(\s*)"(\.{1,2}\/[^"]+)"/g;

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (/\.(ts|js)$/.test(entry.name)) yield path;
  }
}

async function importsInto(dirs: string[], forbidden: string): Promise<string[]> {
  const found: string[] = [];
  for (const dir of dirs) {
    for await (const file of sourceFiles(join(ROOT, dir))) {
      for (const match of (await Deno.readTextFile(file)).matchAll(SPECIFIER)) {
        const target = relative(ROOT, resolve(join(file, ".."), match[1]));
        if (target.startsWith(forbidden)) found.push(`${relative(ROOT, file)} imports ${target}`);
      }
    }
  }
  return found;
}

Deno.test("host/, agents/ and services/ never import examples/", async () => {
  assertEquals(await importsInto(["host", "agents", "services"], "examples/"), []);
});

Deno.test("agents/ never imports host/", async () => {
  assertEquals(await importsInto(["agents"], "host/"), []);
});
