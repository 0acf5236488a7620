/**
 * The host's bundle (scripts/host_bundle.ts, loaded by cli/host_code.ts) is the same host as the
 * source: built from the tree as it is, it runs a paglet in an agent worker (the workers' URLs,
 * rewritten from each module's `import.meta.url`, resolve to the source files), errors it throws are
 * the source's PagletError (modules the command line loaded stay outside the bundle), and an edited
 * source file makes it stale. The Pi example's compute threads start from their own bundle, built
 * beside it, when the host's code came from the bundle.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { buildHostBundle, bundleIntact } from "../../scripts/host_bundle.ts";
import {
  bundleIsCurrent,
  HOST_BUNDLE_MANIFEST,
  hostBuild,
  hostBundleFile,
  loadHostCode,
  PI_WORKER_BUNDLE,
} from "../../cli/host_code.ts";
import { PiWorkerPool, piWorkerScript } from "../../examples/pi/worker_pool.ts";
import { runTask } from "../../examples/pi/tasks.ts";
import { PagletError } from "../../agents/errors.ts";
import { HostClient } from "../../host/client.ts";
import { RELEASE, version } from "../../host/version.ts";

Deno.test("the host bundle is built from the tree, loads, and runs a paglet like the source", async () => {
  const before = bundleIsCurrent() ? hostBuild() : null;
  // The bundle's own manifest file: a current bundle stays in place (hosts of other tests run from it).
  const manifestFile = new URL(hostBundleFile(HOST_BUNDLE_MANIFEST));
  const keptIno = before === null ? null : Deno.statSync(manifestFile).ino;
  const { build, inputs } = await buildHostBundle();
  if (keptIno !== null) {
    assertEquals(
      Deno.statSync(manifestFile).ino,
      keptIno,
      "a current bundle of the same build stays in place",
    );
  }
  // The build covers what a host loads by URL too (workers, paglet type modules), not only the
  // bundle's own modules: an edit of any of them is a new build (or `source` until one is made).
  for (
    const file of ["host/worker/agent_worker.ts", "host/compute/compute_worker.ts", "examples/demo/mod.ts"]
  ) {
    assert(file in inputs, `${file} is one of the build's inputs`);
  }
  assert(bundleIsCurrent(), "a bundle just built matches the source");
  assert(/^[0-9a-f]{12}$/.test(build ?? ""), `the build is a hash of the sources: ${build}`);
  if (before !== null) assertEquals(build, before, "the same sources make the same build");
  assertEquals(hostBuild(), build);
  const code = await loadHostCode();
  assertEquals(code.from, "bundle");
  assertEquals(version(), `${RELEASE}+${build}`, "a host from the bundle reports its build");
  const dataDir = await Deno.makeTempDir({ prefix: "paglets-bundle-test-" });
  try {
    const failed = await code.Host.start(
      { name: "bundle", port: 0, workers: 1, quiet: true, dataDir, modules: ["file:///nowhere/missing.ts"] },
      code.extensionsForHost(),
    ).then(() => null, (err) => err);
    assert(failed instanceof PagletError, `the bundle's errors are the source's PagletError: ${failed}`);
    assertEquals(failed.code, "module_not_found");

    // The Pi example's compute threads start from their bundle, built beside the host's.
    assert(piWorkerScript().endsWith(`/dist/host-bundle/${PI_WORKER_BUNDLE}`), piWorkerScript());
    const pool = new PiWorkerPool(1);
    try {
      const task = { op: "split" as const, a: 10, b: 300, withP: true };
      assertEquals(await pool.run(task, 0), runTask(task));
    } finally {
      pool.close();
    }

    const host = await code.Host.start({ name: "bundle", port: 0, workers: 1, quiet: true, dataDir }, [
      ...code.extensionsForHost(),
    ]);
    try {
      const client = new HostClient(host.url);
      const { id } = await client.createAgent({ type: "demo.counter", state: { count: 1 } });
      assertEquals(await client.send(id, { kind: "increment", args: { by: 2 } }), { count: 3 });
    } finally {
      await host.stop();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a bundle is stale once a file it was built from changes, is missing, or has no manifest", async () => {
  const root = await Deno.makeTempDir({ prefix: "paglets-bundle-stale-" });
  try {
    const dir = new URL(`file://${root}/bundle/`);
    const rootUrl = new URL(`file://${root}/`);
    await Deno.mkdir(dir);
    assert(!bundleIsCurrent(dir, rootUrl), "no manifest: stale");
    assertEquals(hostBuild(dir, rootUrl), "source");
    await Deno.writeTextFile(`${root}/a.ts`, "export const a = 1;\n");
    const stat = await Deno.stat(`${root}/a.ts`);
    await Deno.writeTextFile(
      new URL(HOST_BUNDLE_MANIFEST, dir),
      JSON.stringify({ inputs: { "a.ts": [stat.size, stat.mtime!.getTime()] }, build: "0123456789ab" }),
    );
    assert(bundleIsCurrent(dir, rootUrl), "unchanged: current");
    assertEquals(hostBuild(dir, rootUrl), "0123456789ab", "a current bundle's build");
    await Deno.utime(`${root}/a.ts`, new Date(), new Date(stat.mtime!.getTime() + 5000));
    assert(!bundleIsCurrent(dir, rootUrl), "touched: stale");
    assertEquals(hostBuild(dir, rootUrl), "source", "a stale bundle's build is not the source's");
    await Deno.remove(`${root}/a.ts`);
    assert(!bundleIsCurrent(dir, rootUrl), "removed: stale");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a bundle of the same build is kept only while it has every file its manifest lists, at its size", async () => {
  const dir = await Deno.makeTempDir({ prefix: "paglets-bundle-intact-" });
  try {
    assert(!await bundleIntact(dir), "no manifest");
    await Deno.writeTextFile(`${dir}/host.js`, "export const host = 1;\n");
    await Deno.writeTextFile(`${dir}/pi_worker.js`, "self.onmessage = () => {};\n");
    await Deno.writeTextFile(`${dir}/${HOST_BUNDLE_MANIFEST}`, JSON.stringify({ inputs: {} }));
    assert(!await bundleIntact(dir), "a manifest that lists no files (made before manifests did)");
    const outputs = { "host.js": 23, "pi_worker.js": 27 };
    await Deno.writeTextFile(`${dir}/${HOST_BUNDLE_MANIFEST}`, JSON.stringify({ inputs: {}, outputs }));
    assert(await bundleIntact(dir), "whole");
    await Deno.writeTextFile(`${dir}/host.js`, "export const host = 10;\n");
    assert(!await bundleIntact(dir), "a file of another size");
    await Deno.writeTextFile(`${dir}/host.js`, "export const host = 1;\n");
    await Deno.remove(`${dir}/pi_worker.js`);
    assert(!await bundleIntact(dir), "a file gone");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
