/**
 * Errors that name a script's module by its data: URL (Deno does, in import errors and stack
 * frames) name it in a few characters: the URL is the whole module, kilobytes to megabytes.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { PagletError } from "../../agents/errors.ts";

const MODULE = `data:text/javascript,//%20script:jobs.ts%0Aconst%20f%20=%20(x)%20=%3E%20x;${
  "a".repeat(200_000)
}`;

Deno.test("a script module's data: URL in an error message is shortened, keeping line and column", () => {
  const err = new PagletError(
    "handler_failed",
    `Import "./helper.ts" not a dependency and not in import map from "${MODULE}"\n    at run (${MODULE}:453:22)`,
  );
  assertEquals(
    err.message,
    `Import "./helper.ts" not a dependency and not in import map from "<script module>"\n    at run (<script module>:453:22)`,
  );
  const wrapped = PagletError.from(new TypeError(`Invalid URL: './data.json' with base '${MODULE}'`));
  assert(wrapped.message.length < 100, wrapped.message.slice(0, 200));
});

Deno.test("a stack frame whose script URL holds spaces and V8's elision is shortened to its line and column", () => {
  const elided = "data:text/javascript,var __create = Objec......port {%0A  T%0A};%0A";
  const err = new PagletError(
    "script_failed",
    `Error: too big: 7\n    at helper (${elided}:41:20)\n    at ${elided}:61:3`,
  );
  assertEquals(
    err.message,
    "Error: too big: 7\n    at helper (<script module>:41:20)\n    at <script module>:61:3",
  );
});

Deno.test("shortening keeps what follows a module's URL on its line", () => {
  const url = "data:text/javascript,const%20x%20=%201;";
  assertEquals(
    new PagletError("module_load_failed", `Module "${url}" failed to load: "x" is not defined`).message,
    `Module "<script module>" failed to load: "x" is not defined`,
  );
  assertEquals(
    new PagletError("internal", `at f (${url}:1:2)\nthen g (file:///x.ts:3:4)`).message,
    "at f (<script module>:1:2)\nthen g (file:///x.ts:3:4)",
  );
});

Deno.test("a syntax error in a script's module names where in a few characters, however large the module", async () => {
  // As the worker loads a module: a data: URL, spaces kept, newlines escaped; V8 accepts no such
  // regular expression (esbuild does), and says where at the end of its message.
  const source = `const pad = "${"x y ".repeat(500_000)}";\nconst r = /a{2,1}/;\nexport const A = 1;\n`;
  const url = `data:text/javascript,${source.replaceAll("%", "%25").replaceAll("\n", "%0A")}`;
  const failed = await import(url).then(() => null, (err) => err);
  assert(failed instanceof SyntaxError, String(failed));
  const err = PagletError.from(failed, "module_load_failed");
  assertEquals(
    err.message,
    "Invalid regular expression: /a{2,1}/: numbers out of order in {} quantifier at <script module>:2:11",
  );
});

Deno.test("a thrown value that is no Error keeps what it says", () => {
  assertEquals(
    PagletError.from({ code: "my_code", message: "the input is odd" }).message,
    "the input is odd",
  );
  assertEquals(PagletError.from({ reason: "odd", n: 3 }).message, '{"reason":"odd","n":3}');
  assertEquals(PagletError.from("plain text").message, "plain text");
  assertEquals(PagletError.from(42, "handler_failed").code, "handler_failed");
});
