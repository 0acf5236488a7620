/**
 * A graceful stop of a host (SIGTERM) deactivates its active agents so that they are active again
 * at the next start. With real host processes: an agent keeps its own deactivation policy through
 * such stops (and through a crash between them); an agent never deactivated gets the default one.
 */
import { type DeactivationPolicy, DEFAULT_POLICY } from "../../agents/policy.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { paglets } from "../helpers/cli.ts";
import { type HostProcess, startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { hostRow } from "../helpers/host_db.ts";

/** The status and policy of an agent as they are stored in the host's database. */
function stored(dataDir: string, id: string): { status: string; policy: DeactivationPolicy | null } {
  const row = hostRow<{ status: string; policy: string | null }>(
    dataDir,
    "SELECT status, policy FROM agents WHERE id = ?",
    id,
  )!;
  return { status: row.status, policy: row.policy ? JSON.parse(row.policy) : null };
}

function start(dataDir?: string): Promise<HostProcess> {
  return startHost({ name: "own-policy", dataDir, args: ["--workers", "2"] });
}

Deno.test("an agent back at start-up by its own policy keeps that policy when the host stops again", async (t) => {
  let host = await start();
  const dataDir = host.dataDir;
  const own: DeactivationPolicy = {
    activateAt: null,
    activateOnMessage: false,
    queueMessagesWhenInactive: true,
    activateOnStartup: true,
  };
  let ownId = "", plainId = "";
  try {
    const status = async (id: string) =>
      (await host.client.getAgent(id)) as { status: string; policy: unknown };

    await t.step(
      "deactivated with --no-activate-on-message --on-startup, it is active after a restart",
      async () => {
        ownId = (await host.client.createAgent({ type: "demo.counter", state: { count: 7 } })).id;
        plainId = (await host.client.createAgent({ type: "demo.counter" })).id;
        const cli = await paglets([
          "agents",
          "deactivate",
          ownId,
          "--no-activate-on-message",
          "--on-startup",
          "--entry",
          host.url,
        ]);
        assertEquals(cli.code, 0, cli.stderr);
        assertEquals(stored(dataDir, ownId), { status: "inactive", policy: own });
        await host.stop();
        host = await start(dataDir);
        const record = await status(ownId);
        // An active agent has no policy in force.
        assertEquals([record.status, record.policy], ["active", null]);
      },
    );

    await t.step("a graceful stop stores it under its own policy again", async () => {
      await host.stop();
      assertEquals(stored(dataDir, ownId), { status: "inactive", policy: own });
    });

    await t.step("an agent never deactivated is stored under the default policy, back at start-up", () => {
      assertEquals(stored(dataDir, plainId), {
        status: "inactive",
        policy: { ...DEFAULT_POLICY, activateOnStartup: true },
      });
    });

    await t.step("a move that fails leaves it here with its own policy", async () => {
      // The source exits after storing the departure, before sending; at its restart the target
      // refuses that transfer for good, and the agent is restored here.
      host = await startHost({
        name: "own-policy",
        dataDir,
        args: ["--workers", "2"],
        env: { PAGLETS_FAULT: "exit-before-send" },
      });
      const target = await startHost({ name: "target" });
      await host.client.dispatch(ownId, target.url).catch(() => {});
      await host.process.status;
      host = await start(dataDir);
      await eventually("the agent back here", async () => (await status(ownId)).status === "active", 20_000);
      assertEquals(stored(dataDir, ownId), { status: "active", policy: own });
      // Stopped at once, while the restore may still be under way: never crashed by the stop. It is
      // stored under its own policy, inactive (the restore was done) or active (restored at the next
      // start).
      await host.stop();
      const after = stored(dataDir, ownId);
      assert(["inactive", "active"].includes(after.status), `stored as ${after.status}`);
      assertEquals(after.policy, own);
      await target.stop();
    });

    await t.step(
      "restored after a crash, it still keeps its own policy at the next graceful stop",
      async () => {
        host = await start(dataDir);
        assertEquals((await status(ownId)).status, "active");
        await host.kill();
        host = await start(dataDir);
        assertEquals((await status(ownId)).status, "active");
        await host.stop();
        assertEquals(stored(dataDir, ownId), { status: "inactive", policy: own });
        assertEquals(stored(dataDir, plainId).policy, { ...DEFAULT_POLICY, activateOnStartup: true });
      },
    );
  } finally {
    await host.stop().catch(() => {});
    await stopAll();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
