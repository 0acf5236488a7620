/**
 * A member that comes back with another API key: the others' calls to it get 401, its gossip to
 * them is refused. However it went away (stopped cleanly, saying it left, or killed), once the
 * others reach it they list it as `unauthorized` and report it once.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { freePort, type HostProcess, startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { FAST_MESH, meshHosts, seesAllOnline } from "./helpers.ts";

const KEY = "mesh-test-key";
const OTHER_KEY = "another-key";

/** `mesh-host-unauthorized` events a host emitted about `name`. */
async function unauthorizedEvents(host: HostProcess, name: string): Promise<number> {
  const { events } = await host.client.request<{ events: { data?: { name?: string } }[] }>(
    "GET",
    "/v1/events?kind=mesh-host-unauthorized&limit=2000",
  );
  return events.filter((e) => e.data?.name === name).length;
}

Deno.test("a member that stopped or was killed and came back with another key is unauthorized to the others, reported once", async () => {
  try {
    const a = await startHost({ name: "a", apiKey: KEY, args: FAST_MESH });
    const c = await startHost({ name: "c", apiKey: KEY, args: [...FAST_MESH, "--peer", a.url] });
    const ports = { stopped: freePort(), killed: freePort() };
    const first = {
      stopped: await startHost({
        name: "stopped",
        apiKey: KEY,
        port: ports.stopped,
        args: [...FAST_MESH, "--peer", a.url],
      }),
      killed: await startHost({
        name: "killed",
        apiKey: KEY,
        port: ports.killed,
        args: [...FAST_MESH, "--peer", a.url],
      }),
    };
    const names = ["a", "c", "stopped", "killed"];
    for (const host of [a, c]) {
      await eventually(`${host.name} to see every host online`, () => seesAllOnline(host, names), 10_000);
    }

    await first.stopped.stop();
    await first.killed.kill();
    for (const host of [a, c]) {
      await eventually(`${host.name} to list 'stopped' as left and 'killed' as offline`, async () => {
        const states = new Map((await meshHosts(host)).map((h) => [h.name, h.state]));
        return states.get("stopped") === "left" && states.get("killed") === "offline";
      }, 10_000);
    }

    // Back on the same URL and data dir, with a key the others do not hold.
    for (const name of ["stopped", "killed"] as const) {
      await startHost({
        name,
        apiKey: OTHER_KEY,
        port: ports[name],
        dataDir: first[name].dataDir,
        args: [...FAST_MESH, "--peer", a.url],
      });
    }
    for (const host of [a, c]) {
      await eventually(`${host.name} to list both returning hosts as unauthorized`, async () => {
        const views = (await meshHosts(host)).filter((h) => h.name === "stopped" || h.name === "killed");
        return views.length === 2 && views.every((h) => h.state === "unauthorized");
      }, 15_000);
      for (const view of (await meshHosts(host)).filter((h) => h.name === "stopped" || h.name === "killed")) {
        assertEquals([view.name, view.online, view.left], [view.name, false, false]);
      }
    }

    // Ten more rounds of a (it calls one of the two every round): still one report each.
    const beat = (await meshHosts(a)).find((h) => h.self)!.heartbeat;
    await eventually(
      "a to run ten more rounds",
      async () => (await meshHosts(a)).find((h) => h.self)!.heartbeat >= beat + 10,
    );
    for (const host of [a, c]) {
      for (const name of ["stopped", "killed"]) {
        assertEquals(await unauthorizedEvents(host, name), 1, `${host.name} reports ${name} once`);
      }
      assert(
        (await meshHosts(host)).every((h) => h.name === "a" || h.name === "c" || h.state === "unauthorized"),
        `${host.name} still lists both as unauthorized`,
      );
    }
  } finally {
    await stopAll();
  }
});
