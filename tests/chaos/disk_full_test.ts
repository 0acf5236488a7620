/**
 * Disk full: the data dir on a small tmpfs the test mounts (root only). Every write that cannot be
 * made durable answers a coded 507; nothing is acknowledged that was not stored; the agent stays
 * reachable and consistent; the host recovers by itself when space returns.
 */
import { assertEquals, assertRejectsCode } from "../helpers/assert.ts";
import { stopAll } from "../helpers/host_process.ts";
import { ArtifactClient } from "../../host/artifacts/client.ts";
import { startMobileHost } from "../mobility/helpers.ts";
import { canMount, fill, withSmallDisk } from "../helpers/small_disk.ts";

const MOUNT_MIB = 24;

/** A module as `PUT /v1/code` takes it (a script's bundle reads the SDK from globalThis). */
const TALLY = `const { Paglet } = globalThis[Symbol.for("paglets.sdk")];
export class Tally extends Paglet {
  static type = "test.tally";
  initialState() { return { n: 0 }; }
  onMessage() { return ++this.state.n; }
}
`;

Deno.test({
  name:
    "on a full disk writes answer 507 insufficient_storage, nothing unstored is acknowledged, and the host recovers when space returns",
  ignore: !canMount,
  fn: () =>
    withSmallDisk(MOUNT_MIB, async (mount) => {
      try {
        const host = await startMobileHost("alpha", { dataDir: `${mount}/data` });
        const { id } = await host.client.createAgent({ type: "demo.counter" });
        await host.client.send(id, { kind: "increment", args: { by: 5 } });
        // An agent of travelling code (a script's): put back in its worker with its module too.
        const put = await host.client.fetch("PUT", "/v1/code", { body: new TextEncoder().encode(TALLY) });
        const { hash } = await put.json() as { hash: string };
        const tally = await host.client.createAgent({ type: "test.tally", code: hash });
        assertEquals(await host.client.send(tally.id, { kind: "add" }), 1);
        const upload = `${mount}/upload.bin`;
        await Deno.writeFile(upload, new Uint8Array(256 * 1024));
        await fill(`${mount}/filler`);

        await assertRejectsCode(
          () => host.client.createAgent({ type: "demo.counter" }),
          "insufficient_storage",
        );
        await assertRejectsCode(() => host.client.send(id, { kind: "increment" }), "insufficient_storage");
        await assertRejectsCode(() => host.client.deactivate(id), "insufficient_storage");
        await assertRejectsCode(() => host.client.deactivate(tally.id), "insufficient_storage");
        assertEquals((await host.client.getAgent(tally.id)).status, "active");
        // A dispose that cannot delete the record leaves the agent as it was: running, answering.
        await assertRejectsCode(() => host.client.dispose(id), "insufficient_storage");
        assertEquals((await host.client.send(id, { kind: "get" }) as { count: number }).count, 5);
        await assertRejectsCode(() => new ArtifactClient(host.client).upload(upload), "insufficient_storage");
        // Still reachable, with only what was stored.
        assertEquals((await host.client.send(id, { kind: "get" }) as { count: number }).count, 5);
        assertEquals((await host.client.getAgent(id)).status, "active");

        await Deno.remove(`${mount}/filler`);
        assertEquals(await host.client.send(tally.id, { kind: "add" }), 2);
        assertEquals((await host.client.send(id, { kind: "increment" }) as { count: number }).count, 6);
        await host.client.deactivate(id);
        assertEquals((await host.client.getAgent(id)).status, "inactive");
        assertEquals((await host.client.send(id, { kind: "get" }) as { count: number }).count, 6);
        await host.client.createAgent({ type: "demo.counter" });
        await host.client.dispose(id);
        await assertRejectsCode(() => host.client.getAgent(id), "agent_not_found");
      } finally {
        await stopAll();
      }
    }),
});
