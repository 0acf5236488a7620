/** `paglets run` treats its script as the main module, and the files it imports as not main (as `deno run` does). */
import { assert, assertEquals } from "../helpers/assert.ts";
import { paglets } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp.ts";

Deno.test("paglets run runs the main block of the script it is given, not those of the files it imports", async () => {
  const dir = await tempDir("paglets-test-run-main-");
  await Deno.writeTextFile(
    `${dir}/lib.ts`,
    'export const n: number = 1;\nif (import.meta.main) console.log("LIB MAIN RAN");\n',
  );
  await Deno.writeTextFile(
    `${dir}/entry.ts`,
    'import { n } from "./lib.ts";\nif (import.meta.main) console.log(`ENTRY MAIN ${n}`);\n',
  );
  const out = await paglets(["run", `${dir}/entry.ts`]);
  assertEquals(out.code, 0, out.stderr);
  assert(out.stdout.includes("ENTRY MAIN 1"), out.stdout);
  assert(!out.stdout.includes("LIB MAIN RAN"), out.stdout);
});
