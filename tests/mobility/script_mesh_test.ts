/** A script's mesh handle follows an agent that moved on: its record, and its disposal. */
import { assertEquals } from "../helpers/assert.ts";
import { stopAll } from "../helpers/host_process.ts";
import { ScriptMesh } from "../../cli/script_mesh.ts";
import { startMobileHost } from "./helpers.ts";

Deno.test("dispose and agent follow an agent from the host it left to the one it is on", async () => {
  try {
    const [a, b] = await Promise.all([startMobileHost("alpha"), startMobileHost("beta")]);
    const mesh = new ScriptMesh(a.client, a.url, null, "0".repeat(64), []);
    const ref = await mesh.create("demo.counter");
    await a.client.dispatch(ref.id, b.url);
    assertEquals((await mesh.agent(ref))?.host, b.url);
    await mesh.dispose(ref);
    assertEquals(await mesh.agent({ id: ref.id, host: b.url }), null);
    const err = await mesh.dispose(ref).then(() => null, (e: { code: string }) => e);
    assertEquals(err?.code, "agent_not_found");
  } finally {
    await stopAll();
  }
});
