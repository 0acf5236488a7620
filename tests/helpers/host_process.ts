/**
 * Real host processes for tests: `deno run main.ts host --port 0 --json` on 127.0.0.1, with
 * its own data dir. Every process started is stopped by `stop()`/`kill()` or `stopAll()`.
 */
import { HostClient } from "../../host/client.ts";
import { firstJsonLine } from "../../scripts/spawn_host.ts";
import { tempDir } from "./temp.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

export interface HostProcess {
  name: string;
  url: string;
  dataDir: string;
  client: HostClient;
  process: Deno.ChildProcess;
  /** Lines the host printed on stderr so far. */
  stderr: string[];
  /** SIGTERM and wait (graceful). */
  stop(): Promise<void>;
  /** SIGKILL and wait (crash). */
  kill(): Promise<void>;
}

const running = new Set<HostProcess>();

export interface StartOptions {
  name: string;
  dataDir?: string;
  args?: string[];
  env?: Record<string, string>;
  apiKey?: string;
  /** Fixed port (for restarts that must keep their URL); default 0. */
  port?: number;
  /** Network namespace to run the host in (`ip netns exec`, see helpers/netns.ts). */
  netns?: string;
  /** The process's limit of open files (`prlimit --nofile`). */
  maxOpenFiles?: number;
  /** The CPUs the host may run on (`taskset -c`): a smaller host on this machine. */
  cpus?: number[];
}

/** The command that runs the host: Deno itself, or Deno behind `ip netns exec` / `prlimit` / `taskset`. */
function launcher(options: StartOptions): string[] {
  const prefix = [
    ...(options.netns ? ["ip", "netns", "exec", options.netns] : []),
    ...(options.cpus ? ["taskset", "-c", options.cpus.join(",")] : []),
    ...(options.maxOpenFiles
      ? ["prlimit", `--nofile=${options.maxOpenFiles}:${options.maxOpenFiles}`, "--"]
      : []),
  ];
  return [...prefix, Deno.execPath()];
}

/** Starts a host process and waits until it listens (bounded: 30 s). */
export async function startHost(options: StartOptions): Promise<HostProcess> {
  const dataDir = options.dataDir ?? await tempDir(`paglets-test-${options.name}-`);
  const env: Record<string, string> = { ...options.env, NO_COLOR: "1" };
  if (options.apiKey) env.PAGLETS_API_KEY = options.apiKey;
  const [program, ...prefix] = launcher(options);
  const command = new Deno.Command(program, {
    args: [
      ...prefix,
      "run",
      "--allow-all",
      "--quiet",
      "--config",
      CONFIG,
      MAIN,
      "host",
      "--name",
      options.name,
      "--port",
      String(options.port ?? 0),
      "--data-dir",
      dataDir,
      "--json",
      ...(options.args ?? []),
    ],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
  const process = command.spawn();
  const stderr: string[] = [];
  void (async () => {
    const decoder = new TextDecoderStream();
    for await (const chunk of process.stderr.pipeThrough(decoder)) {
      stderr.push(...chunk.split("\n").filter(Boolean));
    }
  })().catch(() => {});
  const info = await firstJsonLine(process.stdout, 30_000) as { url: string } | null;
  if (!info) {
    try {
      process.kill("SIGKILL");
    } catch { /* gone */ }
    await process.status;
    throw new Error(`Host ${options.name} did not start within 30 s:\n${stderr.join("\n")}`);
  }
  const hp: HostProcess = {
    name: options.name,
    url: info.url,
    dataDir,
    client: new HostClient(info.url, { apiKey: options.apiKey ?? null }),
    process,
    stderr,
    async stop() {
      running.delete(hp);
      try {
        process.kill("SIGTERM");
      } catch { /* gone */ }
      const timer = setTimeout(() => {
        try {
          process.kill("SIGKILL");
        } catch { /* gone */ }
      }, 15_000);
      await process.status;
      clearTimeout(timer);
    },
    async kill() {
      running.delete(hp);
      try {
        process.kill("SIGKILL");
      } catch { /* gone */ }
      await process.status;
    },
  };
  running.add(hp);
  return hp;
}

/** Stops every host process still running (call in a finally). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((h) => h.kill()));
}

/** Ports for restarts that must come back on the same URL (free_port.ts). */
export { freePort } from "./free_port.ts";
