/**
 * `paglets run`'s bundle cache (host/code/bundle_cache.ts) stays small: the bundles of a script's
 * earlier versions go once no entry names them, an entry not run for 30 days goes with its bundle,
 * a run of an unchanged script keeps its entry, and a bundle another run may be writing its
 * manifest for is left alone. Real files, real esbuild bundles.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { BundleCache, ENTRY_KEPT_MS } from "../../host/code/bundle_cache.ts";
import { bundleScript } from "../../host/code/bundler.ts";

const MINUTE = 60_000;

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("the bundle cache keeps what scripts run and lets earlier versions and old entries go", async () => {
  const work = await Deno.makeTempDir({ prefix: "paglets-bundle-cache-" });
  try {
    const dir = `${work}/cache`;
    const cache = new BundleCache(dir);
    const script = `${work}/job.ts`;
    const write = (n: number) =>
      Deno.writeTextFile(script, `export const version: number = ${n};\nconsole.log(version);\n`);

    await write(1);
    const first = await bundleScript(script);
    await cache.put(script, first);
    await write(2);
    const second = await bundleScript(script);
    assert(first.hash !== second.hash, "an edit makes another bundle");
    await cache.put(script, second);
    // The first version's bundle is younger than ten minutes: another run may still name it.
    assertEquals(
      (await names(dir)).filter((n) => n.endsWith(".js")).sort(),
      [first.hash, second.hash].map((h) => `${h}.js`).sort(),
    );

    // Past that, only the bundle the entry names is kept.
    assertEquals(await cache.prune(Date.now() + 11 * MINUTE), [`${first.hash}.js`]);
    const kept = await names(dir);
    assertEquals(kept.filter((n) => n.endsWith(".js")), [`${second.hash}.js`]);
    assertEquals((await cache.get(script))?.hash, second.hash);

    // An entry not run for 30 days goes with its bundle; a run of it keeps it.
    const manifest = kept.find((n) => n.endsWith(".json"))!;
    const old = new Date(Date.now() - ENTRY_KEPT_MS - MINUTE);
    await Deno.utime(`${dir}/${manifest}`, old, old);
    assertEquals((await cache.get(script))?.hash, second.hash, "a cached run still finds its bundle");
    assertEquals(await cache.prune(), [], "the run kept its entry");
    await Deno.utime(`${dir}/${manifest}`, old, old);
    assertEquals(
      (await cache.prune(Date.now() + 11 * MINUTE)).sort(),
      [manifest, `${second.hash}.js`].sort(),
    );
    assertEquals(await names(dir), []);
    assertEquals(await cache.get(script), null);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
