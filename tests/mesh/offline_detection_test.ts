/**
 * How soon a host that is gone is offline, between real host processes on 127.0.0.1. The hosts
 * gossip every 200 ms but call a silent heartbeat offline only after 60 s, so what the test sees
 * within its bounds comes from the refused connections, not from that threshold.
 */
import { assertEquals } from "../helpers/assert.ts";
import { type HostProcess, startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { meshHosts, moreRounds, seesAllOnline } from "./helpers.ts";

const KEY = "mesh-test-key";
const SLOW_THRESHOLD = ["--gossip-interval-ms", "200", "--offline-after-ms", "60000"];

async function stateOf(observer: HostProcess, name: string): Promise<string | undefined> {
  return (await meshHosts(observer)).find((h) => h.name === name)?.state;
}

Deno.test("a killed host is offline everywhere once its connection is refused; a stopped one that answers nothing is not", async (t) => {
  try {
    const a = await startHost({ name: "a", apiKey: KEY, args: SLOW_THRESHOLD });
    const b = await startHost({ name: "b", apiKey: KEY, args: [...SLOW_THRESHOLD, "--peer", a.url] });
    const c = await startHost({ name: "c", apiKey: KEY, args: [...SLOW_THRESHOLD, "--peer", a.url] });
    const d = await startHost({ name: "d", apiKey: KEY, args: [...SLOW_THRESHOLD, "--peer", a.url] });
    for (const host of [a, b, c, d]) {
      await eventually(
        `${host.name} to see the mesh`,
        () => seesAllOnline(host, ["a", "b", "c", "d"]),
        10_000,
      );
    }

    await t.step(
      "a host that stops answering (SIGSTOP) is not offline before its heartbeat's threshold",
      async () => {
        d.process.kill("SIGSTOP");
        try {
          // Its heartbeat is late after two rounds; a's exchanges with it time out (1 s) meanwhile.
          await moreRounds(a, 15);
          assertEquals(await stateOf(a, "d"), "online");
        } finally {
          d.process.kill("SIGCONT");
        }
      },
    );

    await t.step("a killed host is offline everywhere long before the 60 s threshold", async () => {
      await b.kill();
      for (const host of [a, c, d]) {
        await eventually(
          `${host.name} to list b offline`,
          async () => await stateOf(host, "b") === "offline",
          20_000,
        );
      }
      for (const host of [a, c, d]) {
        assertEquals((await meshHosts(host)).filter((h) => h.online).map((h) => h.name), ["a", "c", "d"]);
      }
    });
  } finally {
    await stopAll();
  }
});
