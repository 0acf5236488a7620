/**
 * Builds the host's bundle (dist/host-bundle/): the code `paglets host` loads on its main thread
 * (host/host.ts and cli/extensions.ts with everything they import) as a few JavaScript files
 * instead of about 300 modules, which Deno loads in about half the CPU time (docs/performance.md,
 * "Start-up"). cli/host_code.ts uses the bundle while it matches the source and the source
 * otherwise: a stale or missing bundle changes the speed of a start, never what the host does.
 *
 * What keeps the bundle the same code as the source:
 * - every module the command line has loaded before it imports the host (main.ts, the command
 *   parser, cli/host_command.ts and their static imports) stays outside the bundle, imported from
 *   its source file: one instance of each module per process, so classes such as PagletError and
 *   module state are shared by both sides;
 * - `import.meta.url` in a bundled module is its source file's URL (workers, wasm and modules it
 *   loads by URL resolve as from the source), written relative to the bundle so that the compiled
 *   binary, which embeds both, resolves them inside itself;
 * - literal `import()`s stay lazy: they become chunks beside the bundle;
 * - manifest.json lists every source file that went in or was left outside, with its size and
 *   modification time, for cli/host_code.ts to compare.
 *
 * How: the host's modules are copied to a staging tree with those two rewrites, and `deno bundle`
 * (esbuild inside Deno, with Deno's own module resolution) bundles the copy.
 *
 * Usage: `deno task bundle` (also run by `deno task compile` and scripts/test), or
 * `deno run -A scripts/host_bundle.ts`.
 *
 * @module
 */
import { concat } from "../agents/bytes.ts";
import { sha256Hex } from "../host/code/hash.ts";
import { dirname, join, relative } from "../agents/paths.ts";
import {
  HOST_BUNDLE_ENTRY,
  HOST_BUNDLE_MANIFEST,
  hostBuild,
  type HostBundleManifest,
  PI_WORKER_BUNDLE,
} from "../cli/host_code.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
/** Where the bundle goes, relative to the project root (cli/host_code.ts reads it there). */
export const HOST_BUNDLE_DIR = "dist/host-bundle";

/**
 * What the command line has loaded when it imports the host's code: `paglets host`, and `paglets
 * examples pi`, which starts an embedded host from the bundle too (cli/entry.ts). Other commands
 * that embed a host load it from the source: their modules are not listed here.
 */
const CLI_ENTRIES = [
  "main.ts",
  "cli/early_start.ts",
  "cli/program.ts",
  "cli/host_command.ts",
  "cli/output.ts",
  "examples/pi/command.ts",
];
/** The host's code as cli/host_code.ts imports it. */
const HOST_ENTRIES = ["host/host.ts", "cli/extensions.ts"];
/**
 * The Pi example's compute threads' script, bundled on its own beside the host's (a worker shares no
 * module with the main thread). Its modules must not resolve files from `import.meta.url`: the
 * bundle lives elsewhere, and the build refuses one that does.
 */
const PI_WORKER_SOURCE = "examples/pi/split_worker.ts";
const ENTRY_SOURCE =
  'export { Host } from "./host/host.ts";\nexport { extensionsForHost } from "./cli/extensions.ts";\n';
/** Files besides the modules that decide what a module resolves to. */
const CONFIG_FILES = ["deno.json", "package.json", "package-lock.json"];
/** This script, relative to the project root. */
const BUNDLER = "scripts/host_bundle.ts";
/** Imports of modules left outside the bundle are written with this prefix, then made relative. */
const OUTSIDE = "paglets-outside:";

interface GraphModule {
  specifier: string;
  local?: string;
  dependencies?: { specifier: string; code?: { specifier: string }; isDynamic?: boolean }[];
}

/** `deno info --json` of `entry`: Deno's own resolution of every import. */
async function denoInfo(entry: string): Promise<GraphModule[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", join(ROOT, "deno.json"), join(ROOT, entry)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`deno info ${entry} failed: ${new TextDecoder().decode(out.stderr)}`);
  return (JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: GraphModule[] }).modules;
}

const projectFile = (specifier: string): string | null => {
  if (!specifier.startsWith("file://")) return null;
  const path = decodeURIComponent(new URL(specifier).pathname);
  return path.startsWith(`${ROOT}/`) && !path.startsWith(`${ROOT}/node_modules/`)
    ? relative(ROOT, path)
    : null;
};

/** Project files (relative paths) reachable from `entries`; `dynamic` says whether import() counts. */
async function graph(entries: string[], dynamic: boolean): Promise<Set<string>> {
  const modules = new Map<string, GraphModule>();
  for (const entry of entries) for (const m of await denoInfo(entry)) modules.set(m.specifier, m);
  const reached = new Set<string>();
  const visit = (specifier: string) => {
    const file = projectFile(specifier);
    if (file === null || reached.has(file)) return;
    reached.add(file);
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      if (dep.code && (dynamic || !dep.isDynamic)) visit(dep.code.specifier);
    }
  };
  for (const entry of entries) visit(new URL(`file://${join(ROOT, entry)}`).href);
  return reached;
}

/** A module loaded by URL: `new URL("./x.ts", import.meta.url)` (workers, type modules, command groups). */
const URL_LOADED = /new URL\(\s*"(\.{1,2}\/[^"]+\.(?:ts|js))",\s*import\.meta\.url\s*\)/g;

/**
 * `files` and every project module they load by URL, with their import graphs, to closure: the
 * code a host may run besides its bundle (agent and compute workers, paglet type modules, command
 * groups). Test files are left out.
 */
async function withUrlLoaded(files: Set<string>): Promise<Set<string>> {
  const all = new Set(files);
  let pending = [...files];
  while (pending.length > 0) {
    const found: string[] = [];
    for (const file of pending) {
      if (!/\.(ts|js)$/.test(file)) continue;
      for (const match of (await Deno.readTextFile(join(ROOT, file))).matchAll(URL_LOADED)) {
        const target = join(dirname(file), match[1]);
        if (all.has(target) || target.startsWith("tests/") || target.includes("/testdata/")) continue;
        // One named in a comment's example may not exist.
        if (await Deno.stat(join(ROOT, target)).then(() => true, () => false)) found.push(target);
      }
    }
    const reached = found.length ? await graph(found, true) : new Set<string>();
    pending = [...new Set([...found, ...reached])].filter((f) => !all.has(f));
    for (const f of pending) all.add(f);
  }
  return all;
}

/** A specifier from `from` to `to` (both relative to the root) as an import writes it. */
function relativeSpecifier(from: string, to: string): string {
  const rel = relative(from, to);
  return rel.startsWith(".") ? rel : `./${rel}`;
}

const IMPORT_SPECIFIER = /((?:\bfrom|\bimport)\s*\(?\s*)"(\.{1,2}\/[^"]+)"/g;

/** A host module as the staging tree holds it (see the module's doc). */
function rewrite(file: string, text: string, outside: Set<string>): string {
  const own = `new URL(${JSON.stringify(relativeSpecifier(HOST_BUNDLE_DIR, file))}, import.meta.url).href`;
  const code = text.split("\n").map((line) =>
    line.replace(/import\.meta\.url/g, (at, offset) => {
      // Not inside a string on this line (a message may name `import.meta.url`).
      const before = line.slice(0, offset).replace(/\\./g, "");
      const open = ['"', "'", "`"].some((q) => before.split(q).length % 2 === 0);
      return open ? at : own;
    })
  ).join("\n");
  return code.replace(IMPORT_SPECIFIER, (whole, head, spec) => {
    const target = join(dirname(file), spec);
    return outside.has(target) ? `${head}"${OUTSIDE}${target}"` : whole;
  });
}

/** Builds the bundle into dist/host-bundle/ (replacing it whole); returns its manifest. */
export async function buildHostBundle(): Promise<HostBundleManifest> {
  const [outside, host, piWorker] = await Promise.all([
    graph(CLI_ENTRIES, false),
    graph(HOST_ENTRIES, true),
    graph([PI_WORKER_SOURCE], true),
  ]);
  for (const file of piWorker) {
    if (/import\.meta\.url/.test(await Deno.readTextFile(join(ROOT, file)))) {
      throw new Error(
        `${file}: the pi workers' bundle cannot take a module that resolves files by import.meta.url`,
      );
    }
  }
  const staging = join(ROOT, `${HOST_BUNDLE_DIR}.staging-${Deno.pid}`);
  const final = join(ROOT, HOST_BUNDLE_DIR);
  try {
    const src = join(staging, "src");
    for (const file of host) {
      if (outside.has(file)) continue;
      await Deno.mkdir(join(src, dirname(file)), { recursive: true });
      await Deno.writeTextFile(
        join(src, file),
        rewrite(file, await Deno.readTextFile(join(ROOT, file)), outside),
      );
    }
    for (const file of CONFIG_FILES) await Deno.copyFile(join(ROOT, file), join(src, file));
    await Deno.symlink(join(ROOT, "node_modules"), join(src, "node_modules"));
    await Deno.writeTextFile(join(src, "host_bundle_entry.ts"), ENTRY_SOURCE);
    const out = join(staging, "out");
    await bundle([
      "--config",
      join(src, "deno.json"),
      "--code-splitting",
      "--external",
      `${OUTSIDE}*`,
      "--outdir",
      out,
      join(src, "host_bundle_entry.ts"),
    ]);
    const toRoot = relativeSpecifier(HOST_BUNDLE_DIR, ".").replace(/\/?$/, "/");
    for await (const entry of Deno.readDir(out)) {
      const path = join(out, entry.name);
      const text = (await Deno.readTextFile(path)).replaceAll(`"${OUTSIDE}`, `"${toRoot}`);
      if (text.includes(OUTSIDE)) throw new Error(`${entry.name}: an import left outside was not rewritten`);
      await Deno.writeTextFile(path, text);
    }
    await Deno.rename(join(out, "host_bundle_entry.js"), join(out, HOST_BUNDLE_ENTRY));
    await bundle([
      "--config",
      join(ROOT, "deno.json"),
      "--output",
      join(out, PI_WORKER_BUNDLE),
      join(ROOT, PI_WORKER_SOURCE),
    ]);
    const inputs: HostBundleManifest["inputs"] = {};
    // Every file the host may run (also those loaded by URL: its build covers them, and an edit of
    // one makes the bundle stale: cli/host_code.ts), and the configuration that resolves them.
    // The bundler too: a bundle it makes differently is another build.
    const files = [
      ...await withUrlLoaded(new Set([...host, ...outside, ...piWorker])),
      ...CONFIG_FILES,
      BUNDLER,
    ]
      .filter((file, i, all) => all.indexOf(file) === i).sort();
    for (const file of files) {
      const stat = await Deno.stat(join(ROOT, file));
      inputs[file] = [stat.size, stat.mtime?.getTime() ?? 0];
    }
    const outputs: Record<string, number> = {};
    for await (const entry of Deno.readDir(out)) {
      outputs[entry.name] = (await Deno.stat(join(out, entry.name))).size;
    }
    const manifest: HostBundleManifest = { inputs, build: await buildId(files), outputs };
    // A bundle of the same build (the same sources and bundler) stays while it is whole: hosts
    // running from it can still load its chunks and the pi workers' script. (Chunk names differ from
    // one build to the next, so it is not compared with this one; a damaged one is replaced.)
    if (hostBuild() === manifest.build && await bundleIntact(final)) return manifest;
    await Deno.writeTextFile(join(out, HOST_BUNDLE_MANIFEST), JSON.stringify(manifest));
    // Swapped in whole: a host starting meanwhile finds the old bundle, the new one, or none (the
    // source), never half of one. Another build may swap its own in between (two builds of one
    // tree make the same bundle): a few tries, each removing what is there.
    for (let attempt = 1;; attempt++) {
      await Deno.remove(final, { recursive: true }).catch(() => {/* the first build */});
      try {
        await Deno.rename(out, final);
        break;
      } catch (err) {
        if (attempt >= 5) throw err;
      }
    }
    return manifest;
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {/* nothing staged */});
  }
}

/**
 * Whether the bundle in `dir` has every file its manifest lists, at the size listed (a bundle
 * damaged since, or one from before manifests listed their files, is not).
 */
export async function bundleIntact(dir: string): Promise<boolean> {
  let outputs: HostBundleManifest["outputs"];
  try {
    outputs =
      (JSON.parse(await Deno.readTextFile(join(dir, HOST_BUNDLE_MANIFEST))) as HostBundleManifest).outputs;
  } catch {
    return false;
  }
  if (!outputs || Object.keys(outputs).length === 0) return false;
  for (const [name, size] of Object.entries(outputs)) {
    const stat = await Deno.stat(join(dir, name)).catch(() => null);
    if (stat?.size !== size) return false;
  }
  return true;
}

/**
 * The build's id (host/version.ts): the first 12 hex digits of a SHA-256 over each file's path and
 * contents, in path order. Equal sources give equal ids on every machine (no times, no paths
 * outside the project).
 */
async function buildId(files: string[]): Promise<string> {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const file of files) {
    const content = await Deno.readFile(join(ROOT, file));
    parts.push(encoder.encode(`${file}\0${content.length}\0`), content);
  }
  return (await sha256Hex(concat(parts))).slice(0, 12);
}

/** `deno bundle` for Deno, minified with the source's names (errors and logs name classes). */
async function bundle(args: string[]): Promise<void> {
  const bundled = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "deno", "--minify", "--keep-names", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!bundled.success) throw new Error(`deno bundle failed: ${new TextDecoder().decode(bundled.stderr)}`);
}

if (import.meta.main) {
  const started = performance.now();
  const manifest = await buildHostBundle();
  console.error(
    `host bundle: ${HOST_BUNDLE_DIR}/ from ${Object.keys(manifest.inputs).length} source files (${
      Math.round(performance.now() - started)
    } ms)`,
  );
}
