/**
 * Seeds that keep a host out of the mesh are said once on stderr and as an event, not every round
 * and not never: one that does not answer, one that answers as no paglets host, and one that is the
 * host itself at another address (which is no exchange with another host).
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { freePort, startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { eventData, fakePeer, FAST_MESH, meshHosts, moreRounds, warnings } from "./helpers.ts";

Deno.test("a seed that does not answer, one that is no paglets host, and one that is this host itself are each said once", async () => {
  await using notPaglets = fakePeer(() => new Response("<html>not here</html>", { status: 404 }));
  try {
    const port = freePort();
    const silent = "http://127.0.0.1:1";
    const alias = `http://localhost:${port}`;
    const host = await startHost({
      name: "lonely",
      port,
      args: [...FAST_MESH, "--peer", silent, "--peer", notPaglets.url, "--peer", alias],
    });
    await eventually(
      "a warning for each seed",
      () =>
        warnings(host, silent).length > 0 && warnings(host, notPaglets.url).length > 0 &&
        warnings(host, alias).length > 0,
    );
    // The backoff doubles up to 8 rounds: 20 more rounds try the failing seeds again, twice or more.
    const tried = notPaglets.requests();
    await moreRounds(host, 20);
    assert(notPaglets.requests() >= tried + 2, `${notPaglets.requests() - tried} more tries`);
    for (const seed of [silent, notPaglets.url]) {
      const lines = warnings(host, seed);
      assertEquals(lines.length, 1, lines.join("\n"));
      assert(
        lines[0].startsWith(`warning: seed ${seed} did not answer as a paglets host (3 tries; last: `) &&
          lines[0].endsWith("): this host knows no other member yet"),
        lines[0],
      );
    }
    assertEquals(warnings(host, alias), [
      `warning: seed ${alias} is this host itself (another address of it), skipped: this host knows no other member yet`,
    ]);
    assertEquals(
      (await eventData(host, "mesh-seed-silent")).map((d) => d.url).sort(),
      [
        notPaglets.url,
        silent,
      ].sort(),
    );
    assertEquals((await eventData(host, "mesh-seed-self")).map((d) => d.url), [alias]);
    // The answer from itself was no exchange with another host: none succeeded.
    const metrics = await (await fetch(`${host.url}/metrics`)).text();
    assert(/^paglets_gossip_exchanges_total\{outcome="ok"\} 0$/m.test(metrics), metrics);
    assertEquals((await meshHosts(host)).map((h) => h.name), ["lonely"]);
  } finally {
    await stopAll();
  }
});

Deno.test("a seed whose refusal was said already is not said again as a silent seed", async () => {
  await using refusing = fakePeer(() =>
    Response.json({ error: { code: "invalid_request", message: "refused" } }, { status: 422 })
  );
  try {
    const host = await startHost({ name: "refused", args: [...FAST_MESH, "--peer", refusing.url] });
    await eventually("the seed to be tried 4 times", () => refusing.requests() >= 4, 15_000);
    await moreRounds(host, 2);
    assertEquals(warnings(host, refusing.url).length, 1, host.stderr.join("\n"));
    assertEquals(await eventData(host, "mesh-seed-silent"), []);
  } finally {
    await stopAll();
  }
});
