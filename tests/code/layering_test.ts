/**
 * The dependency direction: host/, agents/ and services/ never import examples/ (examples register
 * themselves through the CLI, as a user's module does), and agents/ never imports host/; code
 * schedules through agents/timers.ts and host/immediate.ts, not the global timers; and tests leave
 * the state of the process they share alone, and the default entry's port too.
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

/** A global timer call in code: comments and strings left out, roughly but enough for our style. */
const GLOBAL_TIMER = /(?<![\w.])(?:setTimeout|setInterval|setImmediate|clearTimeout|clearInterval)\s*\(/;

function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

Deno.test("the host's, SDK's, services' and CLI's code schedules through agents/timers.ts and immediate(), not the globals", async () => {
  // The globals are Node's on Deno 2.9: their first use loads the Node layer in that thread
  // (docs/architecture.md). Left out: the two modules themselves, tests, the dashboard page's browser
  // script, the example scripts a user runs with `paglets run`, and test data that plays user code.
  const allowed = (path: string) =>
    path === "agents/timers.ts" || path === "host/immediate.ts" || /_test\.ts$/.test(path) ||
    path.includes("/testdata/") ||
    path === "host/dashboard/page.ts" ||
    path.startsWith("examples/scripts/");
  const found: string[] = [];
  for (const dir of ["host", "agents", "services", "cli", "examples"]) {
    for await (const file of sourceFiles(join(ROOT, dir))) {
      const path = relative(ROOT, file);
      if (allowed(path)) continue;
      const lines = withoutComments(await Deno.readTextFile(file)).split("\n");
      lines.forEach((line, i) => {
        if (GLOBAL_TIMER.test(line)) found.push(`${path}:${i + 1}: ${line.trim()}`);
      });
    }
  }
  assertEquals(found, []);
});

/** A change of what every thread of the process shares: its environment, working directory, umask. */
const PROCESS_STATE = /\bDeno\.(?:env\.(?:set|delete)|chdir|umask)\s*\(/;

Deno.test("tests and their fixtures leave the process's environment, working directory and umask alone", async () => {
  // Test files run side by side in one process (scripts/test: deno test --parallel), their in-process
  // hosts' workers too: a change there reaches the other files' hosts and the processes they start.
  // A host takes its tuning as options (host/options.ts, cli/extensions.ts), a child its env.
  const found: string[] = [];
  for (const dir of ["tests", "host", "agents", "services", "examples"]) {
    for await (const file of sourceFiles(join(ROOT, dir))) {
      const path = relative(ROOT, file);
      if (dir !== "tests" && !/_test\.ts$/.test(path)) continue;
      const lines = withoutComments(await Deno.readTextFile(file)).split("\n");
      lines.forEach((line, i) => {
        if (PROCESS_STATE.test(line)) found.push(`${path}:${i + 1}: ${line.trim()}`);
      });
    }
  }
  assertEquals(found, []);
});

/** A bind of the default entry's port, 127.0.0.1:8765. */
const DEFAULT_PORT_BIND = /\bDeno\.listen\w*\s*\([^)]*\b8765\b/;

Deno.test("tests never bind the default entry's port: they ask whether it is taken by connecting", async () => {
  // Two test files binding it to probe it at the same instant see each other as a listener
  // (helpers/default_entry.ts).
  const found: string[] = [];
  for await (const file of sourceFiles(join(ROOT, "tests"))) {
    const lines = withoutComments(await Deno.readTextFile(file)).split("\n");
    lines.forEach((line, i) => {
      if (DEFAULT_PORT_BIND.test(line)) found.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
    });
  }
  assertEquals(found, []);
});
