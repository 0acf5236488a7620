import { assertEquals, assertRejectsCode } from "../../tests/helpers/assert.ts";
import type { RunnerHost } from "./http.ts";
import { chooseHosts, coresOf, spread } from "./placement.ts";

const host = (name: string, tags: string[], cpuCount = 2): RunnerHost => ({
  name,
  url: `http://127.0.0.1:${name.length}000/${name}`,
  online: true,
  tags,
  cpuCount,
});
const mesh = [host("entry", ["gpu"]), host("peer", ["gpu", "big"], 8), host("other", [])];

Deno.test("executors go to the named hosts, or to every host with the tags, entry first", () => {
  assertEquals(chooseHosts(mesh, {}, "e").map((h) => h.name), ["entry", "peer", "other"]);
  assertEquals(chooseHosts(mesh, { tags: ["gpu", "big"] }, "e").map((h) => h.name), ["peer"]);
  assertEquals(chooseHosts(mesh, { hosts: ["other", mesh[0].url + "/"] }, "e").map((h) => h.name), [
    "other",
    "entry",
  ]);
  assertEquals(coresOf(chooseHosts(mesh, { tags: ["gpu"] }, "e")), 10);
  assertEquals(spread(mesh.slice(0, 2), 3).map((h) => h.name), ["entry", "peer", "entry"]);
});

Deno.test("a host or tag nothing matches is refused with host_not_found", async () => {
  await assertRejectsCode(
    () => Promise.resolve().then(() => chooseHosts(mesh, { hosts: ["gone"] }, "e")),
    "host_not_found",
  );
  await assertRejectsCode(
    () => Promise.resolve().then(() => chooseHosts(mesh, { tags: ["tpu"] }, "e")),
    "host_not_found",
  );
});
