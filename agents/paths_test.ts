/** agents/paths.ts gives node:path's POSIX results on the paths the host builds and users type. */
import * as node from "node:path";
import { assertEquals } from "../tests/helpers/assert.ts";
import { basename, dirname, isAbsolute, join, normalize, relative, resolve, toFileUrl } from "./paths.ts";
import { pathToFileURL } from "node:url";

const PATHS = [
  "",
  ".",
  "..",
  "/",
  "//",
  "/a",
  "/a/",
  "a",
  "a/",
  "a/b/c",
  "/a/b/../c",
  "a/../..",
  "../a/./b",
  "/../a",
  "a//b///c/",
  "./a/b.txt",
  "/tmp/x y/é.ts",
  "/a/b/.hidden",
];

Deno.test("normalize, dirname, basename and isAbsolute agree with node:path", () => {
  for (const p of PATHS) {
    if (p !== "") {
      assertEquals(normalize(p).replace(/(.)\/$/, "$1"), node.normalize(p).replace(/(.)\/$/, "$1"), p);
    }
    assertEquals(dirname(p), node.dirname(p), `dirname ${p}`);
    assertEquals(basename(p), node.basename(p), `basename ${p}`);
    assertEquals(basename(p, ".txt"), node.basename(p, ".txt"), `basename ${p} .txt`);
    assertEquals(isAbsolute(p), node.isAbsolute(p), `isAbsolute ${p}`);
  }
});

Deno.test("join, resolve and relative agree with node:path", () => {
  for (const a of PATHS) {
    for (const b of PATHS) {
      assertEquals(
        join(a, b).replace(/(.)\/$/, "$1"),
        node.join(a, b).replace(/(.)\/$/, "$1"),
        `join ${a} ${b}`,
      );
      assertEquals(resolve(a, b), node.resolve(a, b), `resolve ${a} ${b}`);
      assertEquals(relative(a, b), node.relative(a, b), `relative ${a} ${b}`);
    }
  }
  assertEquals(join(), node.join());
  assertEquals(resolve(), node.resolve());
});

Deno.test("toFileUrl agrees with node:url's pathToFileURL", () => {
  for (const p of ["/tmp/x y/é.ts", "/a/b#c?d%e.ts", "rel/file.ts"]) {
    assertEquals(toFileUrl(p).href, pathToFileURL(p).href, p);
  }
});
