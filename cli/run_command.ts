/**
 * `paglets run FILE.ts [--entry NAME|URL] [-- args]`: runs a user's script. The file and its relative
 * imports are bundled here (host/code/bundler.ts), the bundle goes to the entry host
 * (`PUT /v1/code`), and the script's top level runs in this process with `connect()` answering
 * the entry host's mesh; `Deno.args` are the arguments after `--`.
 */
import type { Command } from "./command.ts";
import { PagletError, scriptFrame } from "../agents/errors.ts";
import type { Bundle } from "../host/code/bundler.ts";
import { apiKeyFrom, type EntryOptions, withEntryOrEmbedded } from "./entry.ts";
import { whileRunning } from "./signals.ts";
import { checkScriptFile } from "../host/code/script_file.ts";

export function registerRunCommand(program: Command): void {
  program
    .command("run")
    .description('Run a TypeScript script that imports "paglets"; its paglet types run anywhere in the mesh')
    .argument("<file>", "the script (a .ts or .js file; its relative imports are bundled with it)")
    .argument("[args...]", "arguments for the script (after --): its Deno.args")
    .option(
      "-e, --entry <name|url>",
      "entry host (default $PAGLETS_ENTRY, http://127.0.0.1:8765, else an embedded host)",
    )
    .option("--api-key-env <name>", "environment variable holding the API key (default PAGLETS_API_KEY)")
    .action(async (file: string, args: string[], options: EntryOptions) => {
      await runScript(file, args, options);
    });
}

type RunModules = typeof import("./run_modules.ts");

/** The script's bundle: from the cache when no input changed, else made now (and cached). */
async function bundleOf(file: string, modules: Promise<RunModules>): Promise<Bundle> {
  const { BundleCache, bundleScript } = await modules;
  const cache = new BundleCache();
  const cached = await cache.get(file);
  if (cached) return cached;
  const bundle = await bundleScript(file);
  await cache.put(file, bundle);
  return bundle;
}

/** Runs `file` against the entry host; resolves when its top level has finished. */
export async function runScript(file: string, args: string[], options: EntryOptions): Promise<void> {
  // A file that is not there fails now, before a host is looked for or started.
  await checkScriptFile(file);
  // Loaded here, not at the top: `paglets --help` registers this command without the SDK. One
  // import for everything (see run_modules.ts).
  const modules = import("./run_modules.ts");
  modules.catch(() => {/* awaited below */});
  // Bundled while the entry host is looked for; an unchanged script comes from the cache.
  const bundling = bundleOf(file, modules);
  bundling.catch(() => {/* awaited below */});
  await withEntryOrEmbedded({ ...options, loadAfter: modules, startAfter: bundling }, async (client) => {
    const {
      installConnector,
      bundleExportNames,
      SCRIPT_MAIN_GLOBAL,
      dataUrlOf,
      ScriptMesh,
      registerScriptBundle,
      setDefaultTaskModule,
      interrupt,
    } = await modules;
    const bundle = await bundling;
    const response = await client.fetch("PUT", "/v1/code", {
      body: bundle.source as Uint8Array<ArrayBuffer>,
      headers: { "content-type": "text/javascript", "x-sha256": bundle.hash },
    });
    // `host`: the entry host's URL as the mesh lists it, where other hosts fetch the module.
    const uploaded = await response.json() as { hash: string; types: string[]; host: string };
    const mesh = new ScriptMesh(client, uploaded.host, apiKeyFrom(options), uploaded.hash, uploaded.types);
    installConnector(() => Promise.resolve(mesh));
    // Runner tasks name the script by hash: executors' hosts fetch it from the entry host once.
    const url = dataUrlOf(bundle.source);
    const ref = { hash: uploaded.hash, from: uploaded.host };
    registerScriptBundle(url, ref);
    setDefaultTaskModule({ ref, exportNames: bundleExportNames(bundle.source) });
    Object.defineProperty(Deno, "args", { value: Object.freeze([...args]), configurable: true });
    (globalThis as Record<string, unknown>)[SCRIPT_MAIN_GLOBAL] = true;
    // The bundle reads the SDK from globalThis: this process's own copy, so `instanceof` holds.
    await import("../agents/sdk_global.ts");
    // Ctrl-C: the script's submissions and Runners end cleanly first (agents/interruption.ts).
    const unregister = whileRunning({ end: interrupt });
    // A call the script did not await that fails while its top level runs ends the run as an
    // awaited one does (with its code and the script's line), not as a crash of the runtime; the
    // first one does, and those that follow while the run ends are dropped. One that fails after
    // the top level finished is left to the runtime (its own message, exit 1): never silent.
    const unawaited = Promise.withResolvers<never>();
    unawaited.promise.catch(() => {/* raced below */});
    let finished = false;
    globalThis.addEventListener("unhandledrejection", (event: PromiseRejectionEvent) => {
      if (finished) return;
      event.preventDefault();
      unawaited.reject(event.reason);
    });
    try {
      await Promise.race([import(url), unawaited.promise]);
      finished = true;
    } catch (err) {
      if (err instanceof PagletError) {
        // A paglets call of the script failed: say which one, as a stack would.
        const at = scriptFrame(err.stack);
        throw at && !err.message.includes("<script module>")
          ? new PagletError(err.code, `${err.message}\n    ${at}`, err.details)
          : err;
      }
      throw new PagletError(
        "script_failed",
        `${file}: ${err instanceof Error ? err.stack ?? err.message : err}`,
      );
    } finally {
      unregister();
    }
  });
}
