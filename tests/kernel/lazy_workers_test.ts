/**
 * An idle host runs no agent worker: the pool starts its first when an agent first needs one, and
 * a type module that fails to load fails that need (with its code) and the next one tries again.
 */
import { assert, assertEquals, assertRejectsCode } from "../helpers/assert.ts";
import { eventually, testHost } from "../helpers/in_process.ts";

Deno.test("the first workers start with the first agent; a module that fails to load fails that create", async () => {
  const dir = await Deno.makeTempDir({ prefix: "paglets-lazy-workers-" });
  const module = `${dir}/broken.ts`;
  await Deno.writeTextFile(module, 'throw new Error("this module does not load");\n');
  try {
    await using t = await testHost({ modules: [`file://${module}`] });
    const workers = async () => ((await t.client.hostInfo()) as { workers: unknown[] }).workers.length;
    assertEquals(await workers(), 0, "an idle host holds no worker");
    const failed = await assertRejectsCode(
      () => t.client.createAgent({ type: "demo.counter", state: { count: 1 } }),
      "module_load_failed",
    );
    assert(failed.message.includes("broken.ts"), failed.message);
    assertEquals(await workers(), 0, "a worker that cannot load its modules is not kept");
    // The module is fixed: the next create starts the worker and runs the agent.
    await Deno.writeTextFile(module, "export const fixed = true;\n");
    const { id } = await t.client.createAgent({ type: "demo.counter", state: { count: 1 } });
    assertEquals(await t.client.send(id, { kind: "increment", args: { by: 2 } }), { count: 3 });
    // The second of the host's two workers started beside the first: the next agent need not wait for it.
    await eventually("the second worker to join the pool", async () => await workers() === 2);
    const second = await t.client.createAgent({ type: "demo.counter" });
    const placed = await t.client.getAgent(second.id) as { worker: number };
    assertEquals(placed.worker, 1, "the second agent goes to the worker without agents");
    assertEquals(await workers(), 2, "never more than the pool's size");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
