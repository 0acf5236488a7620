/** `paglets run` refuses what it cannot ship, with a code and a message that says what to change. */
import { assert, assertEquals } from "../helpers/assert.ts";
import { paglets } from "../helpers/cli.ts";
import { stepWithoutDefaultEntry, testWithoutDefaultEntry } from "../helpers/default_entry.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;

testWithoutDefaultEntry(
  "a script importing an npm package directly fails to bundle, naming the import and the fix",
  async () => {
    const out = await paglets(["run", `${FIXTURES}imports_zod.ts`]);
    assert(out.code !== 0, "non-zero exit");
    assert(out.stderr.includes("error [bundle_failed]"), out.stderr);
    assert(out.stderr.includes('Import "zod"') && out.stderr.includes('"paglets"'), out.stderr);
    assert(out.stderr.includes("imports_zod.ts:2"), `names file and line: ${out.stderr}`);
  },
);

testWithoutDefaultEntry(
  "an import of a file that is not there fails to bundle before any host starts, naming the file or the extension it lacks",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "paglets-test-imports-" });
    try {
      await Deno.mkdir(`${dir}/lib`);
      await Deno.writeTextFile(`${dir}/lib/helper.ts`, "export const n = 3;\n");
      const cases: [string, string][] = [
        [
          "./lib/helper",
          'Cannot import "./lib/helper": imports name the file with its extension, as Deno wants them: "./lib/helper.ts"',
        ],
        ["./lib/helpr.ts", `Cannot import "./lib/helpr.ts": there is no file ${dir}/lib/helpr.ts`],
      ];
      for (const [specifier, message] of cases) {
        await Deno.writeTextFile(
          `${dir}/main.ts`,
          `// a script\nimport { n } from "${specifier}";\nif (import.meta.main) console.log(n);\n`,
        );
        const out = await paglets(["run", `${dir}/main.ts`]);
        assert(out.code !== 0, "non-zero exit");
        assert(out.stderr.includes("error [bundle_failed]"), out.stderr);
        assert(out.stderr.includes(`main.ts:2: ${message}`), out.stderr);
        assert(!out.stderr.includes("embedded host"), `no host was started for it: ${out.stderr}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

testWithoutDefaultEntry(
  "a task's error a script does not catch ends it with its own code, the task's function and where it threw",
  async () => {
    const out = await paglets(["run", `${FIXTURES}task_throws.ts`]);
    assert(out.code !== 0, "non-zero exit");
    assert(out.stderr.includes("error [task_failed]: Task 2 ('checked') failed on "), out.stderr);
    assert(out.stderr.includes("RangeError: bad x 2"), out.stderr);
    assert(/at checked \(<script module>:\d+:\d+\)/.test(out.stderr), out.stderr);
  },
);

testWithoutDefaultEntry(
  "a script whose top level throws is told where and why it ran on a host",
  async () => {
    const out = await paglets(["run", `${FIXTURES}toplevel_throws.ts`]);
    assert(out.code !== 0, "non-zero exit");
    assert(
      out.stderr.includes("error [module_load_failed]: The module's top-level code threw SyntaxError: "),
      out.stderr,
    );
    assert(
      /\(at <script module>:\d+:\d+\)/.test(out.stderr) && out.stderr.includes("import.meta.main"),
      out.stderr,
    );
  },
);

testWithoutDefaultEntry(
  "a call the script does not await that fails ends the run with its code and the script's line",
  async () => {
    const out = await paglets(["run", `${FIXTURES}unawaited.ts`]);
    assertEquals(out.code, 1, out.stderr);
    assert(
      out.stderr.includes("error [not_handled]: fixture.picky does not handle 'no-such-kind'"),
      out.stderr,
    );
    assert(/at <script module>:\d+:\d+/.test(out.stderr) && !out.stderr.includes("Uncaught"), out.stderr);
    assert(!out.stdout.includes("the run went on"), out.stdout);
  },
);

testWithoutDefaultEntry(
  "a script whose main part is not guarded by import.meta.main is refused with the fix",
  async () => {
    const out = await paglets(["run", `${FIXTURES}unguarded.ts`]);
    assert(out.code !== 0, "non-zero exit");
    assert(
      out.stderr.includes("error [module_load_failed]") && out.stderr.includes("import.meta.main"),
      out.stderr,
    );
  },
);

Deno.test("a missing script is named", async () => {
  const out = await paglets(["run", `${FIXTURES}no_such_script.ts`]);
  assert(
    out.code !== 0 && out.stderr.includes("error [not_found]") && out.stderr.includes("no_such_script.ts"),
    out.stderr,
  );
});

Deno.test("a folder given as the script is invalid input (exit 2), named", async () => {
  const out = await paglets(["run", FIXTURES]);
  assert(out.code === 2, `exit ${out.code}: ${out.stderr}`);
  assert(out.stderr.includes("error [invalid_request]") && out.stderr.includes("is not a file"), out.stderr);
});

Deno.test("a paglet class without a static type: creating it says how a class names its type", async (t) => {
  await stepWithoutDefaultEntry(t, "by the class's empty type", async () => {
    const out = await paglets(["run", `${FIXTURES}untyped_class.ts`]);
    assert(out.code !== 0 && out.stderr.includes("error [invalid_request]"), out.stderr);
    assert(out.stderr.includes("static override readonly type"), out.stderr);
  });
  await stepWithoutDefaultEntry(t, "by a name the class never got", async () => {
    const out = await paglets(["run", `${FIXTURES}untyped_class.ts`, "by-name"]);
    assert(out.code !== 0 && out.stderr.includes("error [unknown_agent_type]"), out.stderr);
    assert(
      out.stderr.includes("found by its `static type`, and only when the module exports it"),
      out.stderr,
    );
  });
});

testWithoutDefaultEntry(
  "what is not plain data is refused where it is sent, naming where it is; a mistyped type lists the script's types",
  async () => {
    const out = await paglets(["run", `${FIXTURES}not_plain.ts`]);
    assertEquals(out.code, 0, out.stderr);
    const seen = JSON.parse(out.stdout.trim().split("\n").at(-1)!) as Record<string, string>;
    assert(seen.sendInstance.startsWith("invalid_request: Cannot send message 'echo'"), seen.sendInstance);
    assert(seen.sendInstance.includes("args.p (instance of Point) is not plain data"), seen.sendInstance);
    assert(seen.sendNaN.includes("args.n (non-finite number) is not plain data"), seen.sendNaN);
    assert(
      seen.createState.includes("Cannot create a 'test.echo' paglet: state.p (instance of Point)"),
      seen.createState,
    );
    assert(seen.fromPaglet.startsWith("invalid_request: Cannot send message 'echo'"), seen.fromPaglet);
    assert(seen.typo.includes("This script's types: test.echo"), seen.typo);
  },
);

testWithoutDefaultEntry(
  "a script that does its work at its top level is told that hosts run it too, and the fix",
  async () => {
    const out = await paglets(["run", `${FIXTURES}toplevel_runner.ts`]);
    assert(out.code !== 0, out.stderr);
    assert(out.stderr.includes("error [module_load_failed]"), out.stderr);
    assert(out.stderr.includes("top level runs on every host that loads it"), out.stderr);
    assert(out.stderr.includes("if (import.meta.main)"), out.stderr);
  },
);

testWithoutDefaultEntry(
  "a paglets call that fails in the script's main part names the script's line",
  async () => {
    const out = await paglets(["run", `${FIXTURES}bad_call.ts`]);
    assert(out.code !== 0, out.stderr);
    assert(out.stderr.includes("error [agent_not_found]"), out.stderr);
    assert(/\n {4}at (async )?<script module>:\d+:\d+/.test(out.stderr), out.stderr);
  },
);

testWithoutDefaultEntry("a script's JSON and TSX files bundle as what their extensions say", async () => {
  const dir = await Deno.makeTempDir({ prefix: "paglets-test-loaders-" });
  try {
    await Deno.writeTextFile(`${dir}/data.json`, '{"answer": 42, "note": "import.meta.main"}\n');
    await Deno.writeTextFile(
      `${dir}/view.tsx`,
      "const h = (tag: string, _p: unknown, ...kids: string[]) => `<${tag}>${kids.join('')}</${tag}>`;\n" +
        "/** @jsx h */\nexport const view = (n: number): string => <b>{String(n)}</b>;\n",
    );
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      'import data from "./data.json" with { type: "json" };\nimport { view } from "./view.tsx";\n' +
        "if (import.meta.main) console.log(view(data.answer), data.note);\n",
    );
    const out = await paglets(["run", `${dir}/main.ts`]);
    assertEquals(out.code, 0, out.stderr);
    assertEquals(out.stdout.trim(), "<b>42</b> import.meta.main");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
