/** `paglets host`: run a host until SIGINT/SIGTERM, then drain and stop cleanly. */
import { type Command, Option } from "./command.ts";
import type { Host } from "../host/host.ts";
import { isBindAddress, isHttpUrl, isTag, MIN_CODE_RETENTION_S, parseSize } from "../host/options.ts";
import { publicBinding } from "../host/mesh/public_address.ts";
import { checkLength, checkTagCount, publishedUrl, RECORD_LIMITS } from "../host/mesh/record_limits.ts";
import { pc } from "./output.ts";
import { PagletError } from "../agents/errors.ts";
import { resolve, toFileUrl } from "../agents/paths.ts";
import { loadHostCode } from "./host_code.ts";
import { usableDataDir } from "./data_dir.ts";

const collect = (value: string, previous: string[]) => [...previous, value];

/** Events `paglets host` prints on stderr as they happen. */
const REPORTED = new Set([
  "paglet-crashed",
  "restore-waiting",
  "wake-failed",
  "http-error",
  "worker-replaced",
  "compute-thread-stray",
]);

function parseProperty(value: string, previous: Record<string, string>): Record<string, string> {
  const i = value.indexOf("=");
  if (i <= 0) throw new PagletError("invalid_request", `--property must be KEY=VALUE: got '${value}'`);
  const key = value.slice(0, i).trim();
  checkLength("--property KEY", key, RECORD_LIMITS.propertyKey);
  checkLength(`--property ${key}=VALUE`, value.slice(i + 1), RECORD_LIMITS.propertyValue);
  return { ...previous, [key]: value.slice(i + 1) };
}

function parsePort(value: string): number {
  // Digits only: Number("") is 0 (any free port), and Number(" 1e3 ") is 1000.
  const port = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new PagletError("invalid_request", `--port must be 0..65535: got '${value}'`);
  }
  return port;
}

function parseBind(value: string): string {
  if (!isBindAddress(value)) {
    throw new PagletError(
      "invalid_request",
      `--bind must be an IP address (such as 127.0.0.1, 0.0.0.0 or ::1) or a host name: got '${value}'`,
    );
  }
  return value;
}

function parsePublicUrl(value: string): string {
  if (!isHttpUrl(value)) {
    throw new PagletError(
      "invalid_request",
      `--public-url must be an http(s) URL such as http://10.0.0.5:8765: got '${value}'`,
    );
  }
  checkLength("--public-url", publishedUrl(value) ?? value, RECORD_LIMITS.url);
  return value;
}

/** `--peer`, repeatable: each a host URL, checked where it is typed (before anything starts). */
function collectPeer(value: string, previous: string[]): string[] {
  const url = value.trim();
  // A host and port alone (10.0.0.5:8765) means http, as everywhere a host's URL is read.
  if (!isHttpUrl(/^[a-z]+:\/\//i.test(url) ? url : `http://${url}`)) {
    throw new PagletError(
      "invalid_request",
      `--peer must be a host's http(s) URL such as http://10.0.0.5:8765: got '${value}'`,
    );
  }
  return [...previous, url];
}

/** `--tag`, repeatable: each a word like linux or gpu, checked where it is typed. */
function collectTag(value: string, previous: string[]): string[] {
  const tag = value.trim().toLowerCase();
  if (tag === "") throw new PagletError("invalid_request", "--tag must not be empty");
  if (!isTag(tag)) {
    throw new PagletError("invalid_request", `--tag must be a word like linux or gpu: got '${value}'`);
  }
  checkLength("--tag", tag, RECORD_LIMITS.tag);
  const tags = [...new Set([...previous, tag])];
  checkTagCount("--tag", tags.length);
  return tags;
}

function parseMeshVersion(value: string): string {
  if (value.trim() === "") {
    throw new PagletError(
      "invalid_request",
      "--mesh-version must not be empty (hosts of one version mesh together)",
    );
  }
  checkLength("--mesh-version", value.trim(), RECORD_LIMITS.meshVersion);
  return value.trim();
}

function parseMs(flag: string): (value: string) => number {
  return (value) => {
    const ms = Number(value);
    if (!Number.isInteger(ms) || ms <= 0) {
      throw new PagletError(
        "invalid_request",
        `${flag} must be a positive whole number: got '${value}'`,
      );
    }
    return ms;
  };
}

/** A size that cannot be `none`. */
function requiredSize(text: string, flag: string): number {
  const size = parseSize(text);
  if (size === null || size < 1) {
    throw new PagletError("invalid_request", `${flag} must be a size such as 16M: got '${text}'`);
  }
  return size;
}

function parseSeconds(flag: string, min = 1): (value: string) => number {
  return (value) => {
    const s = Number(value);
    if (!Number.isFinite(s) || s < min) {
      throw new PagletError(
        "invalid_request",
        `${flag} must be at least ${min} second${min === 1 ? "" : "s"}: got '${value}'`,
      );
    }
    return s;
  };
}

/**
 * A `--module` value as the URL the workers import: a path is resolved against the current
 * directory and must exist (`module_not_found` otherwise); a URL is taken as it is.
 */
function moduleUrl(value: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(value)) return value;
  const path = resolve(value);
  try {
    if (!Deno.statSync(path).isFile) throw new Error("not a file");
  } catch {
    throw new PagletError("module_not_found", `--module ${value}: no module file at ${path}`);
  }
  return toFileUrl(path).href;
}

export function registerHostCommand(program: Command): void {
  program.command("host")
    .description("Run a paglets host on this machine (one per machine)")
    .option("-n, --name <name>", "host name, unique in the mesh", Deno.hostname())
    .option("-p, --port <port>", "TCP port (0 = any free port)", parsePort, 8765)
    .option(
      "--bind <address>",
      "address to listen on (default: 127.0.0.1; 0.0.0.0 with --bind-public)",
      parseBind,
    )
    .option("--public-url <url>", "URL other hosts use to reach this one", parsePublicUrl)
    .option(
      "--bind-public <auto|address>",
      "publish this host on the LAN: 'auto' picks the machine's LAN IPv4 address",
    )
    .option("--data-dir <dir>", "database, storage and scratch folder (default: user data folder)")
    .option(
      "--mesh-version <version>",
      "only hosts with the same version mesh together ($PAGLETS_MESH_VERSION sets the default)",
      parseMeshVersion,
      Deno.env.get("PAGLETS_MESH_VERSION")?.trim() || "dev",
    )
    .option("--peer <url>", "join the mesh through this host (repeatable)", collectPeer, [])
    .option(
      "--gossip-interval-ms <ms>",
      "milliseconds between mesh gossip rounds",
      parseMs("--gossip-interval-ms"),
      1000,
    )
    .option(
      "--offline-after-ms <ms>",
      "a peer silent this long is offline (default: 5000)",
      parseMs("--offline-after-ms"),
    )
    .option("--tag <tag>", "host tag such as linux or gpu (repeatable)", collectTag, [])
    .option("--property <key=value>", "host property (repeatable)", parseProperty, {})
    .option("--api-key-env <name>", "environment variable holding the API key", "PAGLETS_API_KEY")
    .option("--persistent-storage-quota <size>", "per-type persistent storage quota (e.g. 10M, none)", "10M")
    .option(
      "--workers <n>",
      "agent worker threads at most, started as agents need them (default: one per CPU, at least 2)",
      parseMs("--workers"),
    )
    .option("--module <url>", "extra paglet type module loaded into every worker (repeatable)", collect, [])
    .option("--no-remote-code", "refuse code this host was not started with (scripts' paglet types)")
    .option("--artifact-max-size <size>", "largest artifact or registered file (e.g. 512M, none)", "1G")
    .option("--artifact-storage-quota <size>", "bytes all hosted artifacts may use (e.g. 10G, none)", "10G")
    .option(
      "--artifact-spool-ttl <seconds>",
      "delete stale uploads and expired artifacts after this",
      parseSeconds("--artifact-spool-ttl"),
      86_400,
    )
    .option(
      "--forwarding-retention <seconds>",
      "remember where a departed agent went this long (forwarding of its messages, transfer records)",
      parseSeconds("--forwarding-retention"),
      604_800,
    )
    .option(
      "--code-retention <seconds>",
      "keep a script's module that no agent here uses this long after its last use (at least 600)",
      parseSeconds("--code-retention", MIN_CODE_RETENTION_S),
      604_800,
    )
    .option("--max-body-bytes <size>", "largest JSON body the API accepts (e.g. 64M)", "16M")
    .option(
      "--max-connections <n>",
      "connections served at once; one more is refused with 503 (default: from the file limit, at most 1000)",
      parseMs("--max-connections"),
    )
    .option(
      "--header-timeout-ms <ms>",
      "time a new connection has to send its request head",
      parseMs("--header-timeout-ms"),
      10_000,
    )
    .option(
      "--idle-timeout-ms <ms>",
      "time a connection with nothing in progress stays open",
      parseMs("--idle-timeout-ms"),
      60_000,
    )
    .addOption(new Option("--json", "print the listening address as JSON"))
    .action(async (o) => {
      // Signals are watched from the first moment: one that arrives while the host starts stops
      // it as soon as the start is over, instead of being lost or killing a half-open database.
      const stopped = Promise.withResolvers<void>();
      let host: Host | null = null;
      let stopRequested = false;
      const stop = () => {
        if (stopRequested) return;
        stopRequested = true;
        console.error("stopping: deactivating agents ...");
        host?.stop().then(() => stopped.resolve(), (err) => stopped.reject(err));
      };
      Deno.addSignalListener("SIGINT", stop);
      Deno.addSignalListener("SIGTERM", stop);
      // A --mesh-version was checked as it was parsed; the default from the environment is checked here.
      checkLength("PAGLETS_MESH_VERSION", o.meshVersion, RECORD_LIMITS.meshVersion);
      const modules = (o.module as string[]).map(moduleUrl);
      // An empty variable means no key, as an unset one does.
      const apiKey = Deno.env.get(o.apiKeyEnv) || null;
      if (o.apiKeyEnv !== "PAGLETS_API_KEY" && !apiKey) {
        throw new PagletError(
          "invalid_request",
          `--api-key-env names ${o.apiKeyEnv}, but that variable is empty or not set`,
        );
      }
      let bind: string = o.bind ?? "127.0.0.1";
      let publicUrl: string | undefined = o.publicUrl;
      if (o.bindPublic !== undefined) {
        if (o.publicUrl) {
          throw new PagletError(
            "invalid_request",
            "--bind-public and --public-url exclude each other: pass one of them",
          );
        }
        ({ bind, publicUrl } = publicBinding({ bindPublic: o.bindPublic, port: o.port, bind: o.bind }));
      }
      // Said once the host listens: a start that fails (a --bind that names no address) listens nowhere.
      const openWarning = !apiKey && bind !== "127.0.0.1" && bind !== "localhost" && bind !== "::1"
        ? `warning: ${
          publicUrl ? `publishing ${publicUrl}` : `listening on ${bind}`
        } without an API key: anyone on the network can run code here; set ${o.apiKeyEnv} to require one`
        : null;
      // A wildcard bind publishes the loopback URL (host/host.ts): peers on other machines get a URL
      // that points at themselves.
      const loopbackWarning = !publicUrl && (bind === "0.0.0.0" || bind === "::" || bind === "[::]")
        ? "warning: listening on every address but publishing a loopback URL, which hosts on other " +
          "machines cannot reach: set --public-url (or --bind-public auto) for a mesh across machines"
        : null;
      // Loaded here, not at the top: `paglets --help` registers this command without the host's code.
      // The bundle when it matches the source (cli/host_code.ts).
      const { Host, extensionsForHost } = await loadHostCode();
      host = await Host.start({
        name: o.name,
        port: o.port,
        bind,
        publicUrl,
        dataDir: o.dataDir === undefined ? undefined : await usableDataDir(o.dataDir),
        meshVersion: o.meshVersion,
        tags: o.tag,
        properties: o.property,
        apiKey,
        persistentStorageQuota: parseSize(o.persistentStorageQuota),
        workers: o.workers,
        modules,
        remoteCode: o.remoteCode,
        peers: o.peer,
        gossipIntervalMs: o.gossipIntervalMs,
        offlineAfterMs: o.offlineAfterMs,
        artifactMaxSize: parseSize(o.artifactMaxSize),
        maxBodyBytes: requiredSize(o.maxBodyBytes, "--max-body-bytes"),
        artifactStorageQuota: parseSize(o.artifactStorageQuota),
        artifactSpoolTtlS: o.artifactSpoolTtl,
        forwardingRetentionS: o.forwardingRetention,
        codeRetentionS: o.codeRetention,
        maxConnections: o.maxConnections,
        headerTimeoutMs: o.headerTimeoutMs,
        idleTimeoutMs: o.idleTimeoutMs,
      }, extensionsForHost());
      // The operator's own modules load now, not at the first create: one that cannot load ends the
      // start here with its error, instead of failing every create (built-in types too) later.
      if (modules.length > 0 && !stopRequested) {
        await host.pool.knownTypes().catch(async (err) => {
          await host?.stop();
          throw err;
        });
      }
      for (const warning of [openWarning, loopbackWarning]) if (warning) console.error(pc.yellow(warning));
      if (o.json) {
        console.log(JSON.stringify({ name: host.name, url: host.url, dataDir: host.options.dataDir }));
      } else {console.log(
          `paglets host ${pc.bold(host.name)} listening at ${
            pc.cyan(host.url)
          } (data: ${host.options.dataDir})`,
        );}
      const report = (e: { kind: string; agentId?: string; error?: string; data?: unknown }) => {
        if (REPORTED.has(e.kind)) {
          console.error(`${pc.red(e.kind)} ${e.agentId ?? ""} ${e.error ?? JSON.stringify(e.data ?? {})}`);
        }
      };
      // What happened while the host started (an agent that could not be restored) first, then as it happens.
      for (const e of host.events.since(0, 2000)) report(e);
      host.events.subscribe(report);
      if (stopRequested) host.stop().then(() => stopped.resolve(), (err) => stopped.reject(err));
      await stopped.promise;
      Deno.removeSignalListener("SIGINT", stop);
      Deno.removeSignalListener("SIGTERM", stop);
      console.error("stopped");
      // A worker replaced while stuck in a loop may still be running (Deno cannot interrupt it):
      // exit explicitly instead of waiting for that thread.
      Deno.exit(0);
    });
}
