/**
 * Bundles a user's script (a TypeScript file and its relative imports) into one JavaScript module,
 * in process, with esbuild's WebAssembly build: the compiled binary has no `deno` to call and
 * cannot import files it was not built with, so travelling code is plain JavaScript made here.
 *
 * The SDK is not bundled: `import ... from "paglets"` becomes a read of the SDK object each thread
 * installs (agents/sdk_global.ts), so a bundle runs against the host's own SDK. Paths in the bundle
 * are relative to the script's folder: the same files give the same bytes (and hash) anywhere.
 *
 * @example
 * ```ts
 * const { source, hash } = await bundleScript("/home/me/jobs.ts");
 * ```
 * @module
 */
import { dirname, isAbsolute, join, relative, resolve } from "../../agents/paths.ts";
import { PagletError } from "../../agents/errors.ts";
import { SDK_GLOBAL } from "../../agents/sdk_global.ts";
import { sha256Hex } from "./hash.ts";
import { checkScriptFile } from "./script_file.ts";

/** esbuild's wasm, embedded in the binary by scripts/compile.ts. */
export const ESBUILD_WASM_URL = new URL("../../node_modules/esbuild-wasm/esbuild.wasm", import.meta.url);

type Esbuild = typeof import("esbuild-wasm/esm/browser.js");
let esbuildReady: Promise<Esbuild> | undefined;

/** Loads and starts esbuild once per process (about 0.5 s: compiling its wasm dominates). */
export function loadEsbuild(): Promise<Esbuild> {
  esbuildReady ??= (async () => {
    const esbuild: Esbuild = await import("esbuild-wasm/esm/browser.js");
    const wasmModule = await WebAssembly.compile(await Deno.readFile(ESBUILD_WASM_URL));
    // worker: false — esbuild's own worker would start from a blob: URL, which a compiled binary refuses.
    await esbuild.initialize({ wasmModule, worker: false });
    return esbuild;
  })();
  return esbuildReady;
}

/** A bundled script. */
export interface Bundle {
  /** The JavaScript module. */
  source: Uint8Array;
  /** SHA-256 of `source`, hex: the code's identity across the mesh. */
  hash: string;
  /** Absolute paths of the files that went into it. */
  inputs: string[];
}

/** Set to true by the process that runs a script's top level (`paglets run`), and nowhere else. */
export const SCRIPT_MAIN_GLOBAL = "__pagletsScriptMain";

const SDK_SHIM = `module.exports = globalThis[Symbol.for(${JSON.stringify(SDK_GLOBAL)})];`;

/** Bundles `entry` (a file path) with its relative imports. */
export async function bundleScript(entry: string): Promise<Bundle> {
  const file = await checkScriptFile(entry);
  const root = dirname(file);
  const esbuild = await loadEsbuild();
  const inputs = new Set<string>();
  let result;
  try {
    result = await esbuild.build({
      entryPoints: [relative(root, file)],
      bundle: true,
      write: false,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      legalComments: "none",
      // `if (import.meta.main)` guards a script's top level: true only in the `paglets run` process,
      // false in the workers that load the same module for its paglet classes.
      define: { "import.meta.main": `globalThis.${SCRIPT_MAIN_GLOBAL}` },
      logLevel: "silent",
      plugins: [{
        name: "paglets-script",
        setup(build) {
          build.onResolve({ filter: /^paglets$/ }, () => ({ path: "paglets", namespace: "paglets-sdk" }));
          build.onLoad(
            { filter: /.*/, namespace: "paglets-sdk" },
            () => ({ contents: SDK_SHIM, loader: "js" }),
          );
          build.onResolve({ filter: /.*/ }, async (args) => {
            const relativeImport = args.path.startsWith("./") || args.path.startsWith("../");
            if (args.kind !== "entry-point" && !relativeImport && !isAbsolute(args.path)) {
              return {
                errors: [{
                  text: `Import "${args.path}" is not available to a script: import the SDK as "paglets" ` +
                    `(it re-exports zod as z) and your own files by relative path`,
                }],
              };
            }
            const base = args.kind === "entry-point" ? root : dirname(join(root, args.importer));
            const target = resolve(base, args.path);
            const missing = await missingImport(args.path, target);
            if (missing) return { errors: [{ text: missing }] };
            return { path: relative(root, target), namespace: "script" };
          });
          build.onLoad({ filter: /.*/, namespace: "script" }, async (args) => {
            const path = join(root, args.path);
            inputs.add(path);
            const loader = loaderOf(path);
            const contents = await Deno.readTextFile(path);
            if (path === file || !contents.includes("import.meta.main")) return { contents, loader };
            // An imported file is never the main module (as under `deno run`): its own
            // `if (import.meta.main)` block stays out of the script's run.
            const notMain = await esbuild.transform(contents, {
              loader,
              format: "esm",
              target: "es2022",
              sourcefile: args.path,
              define: { "import.meta.main": "false" },
            });
            return { contents: notMain.code, loader: "js" };
          });
        },
      }],
    });
  } catch (err) {
    const errors = (err as { errors?: { text: string; location?: { file: string; line: number } }[] }).errors;
    const text = errors?.length
      ? errors.map((e) => (e.location ? `${where(e.location.file)}:${e.location.line}: ` : "") + e.text).join(
        "\n",
      )
      : String(err);
    throw new PagletError("bundle_failed", `Cannot bundle ${entry}:\n${text}`);
  }
  const source = result.outputFiles![0].contents;
  return { source, hash: await sha256Hex(source), inputs: [...inputs] };
}

/** A file of the script as an error names it: its path from the script's folder, without esbuild's namespace. */
function where(file: string): string {
  return file.replace(/^script:/, "");
}

/**
 * Why a relative import cannot be loaded, or null when its file is there. Imports name files with
 * their extension (as Deno wants them): an import that leaves it out is told which file it means.
 */
async function missingImport(specifier: string, path: string): Promise<string | null> {
  const isFile = (p: string) => Deno.stat(p).then((info) => info.isFile, () => false);
  if (await isFile(path)) return null;
  for (const ext of [".ts", ".tsx", ".mts", ".js", ".mjs", "/mod.ts", "/index.ts", "/index.js"]) {
    if (await isFile(path + ext)) {
      return `Cannot import "${specifier}": imports name the file with its extension, as Deno wants them: "${specifier}${ext}"`;
    }
  }
  return `Cannot import "${specifier}": there is no file ${path}`;
}

/** How esbuild reads a script's file, by its extension (as Deno does): TypeScript, JSX, JSON, else JavaScript. */
function loaderOf(path: string): "ts" | "tsx" | "jsx" | "json" | "js" {
  if (/\.[cm]?ts$/.test(path)) return "ts";
  if (path.endsWith(".tsx")) return "tsx";
  if (path.endsWith(".jsx")) return "jsx";
  if (path.endsWith(".json")) return "json";
  return "js";
}

/**
 * The names a bundle exports, read from the one `export { local as name, … };` clause esbuild
 * ends an ESM bundle with: a Runner of the script calls its exported functions by these names.
 */
export function bundleExportNames(source: Uint8Array): string[] {
  // The clause is the bundle's last statement: only the tail needs decoding.
  const tail = new TextDecoder().decode(source.subarray(Math.max(0, source.length - 65_536)));
  const clause = /export\s*\{([^}]*)\}\s*;?\s*$/.exec(tail);
  if (!clause) return [];
  return clause[1].split(",").map((part) => part.trim()).filter(Boolean).map((part) => {
    const name = part.split(/\s+as\s+/).at(-1)!;
    return name.startsWith('"') ? JSON.parse(name) as string : name;
  });
}
