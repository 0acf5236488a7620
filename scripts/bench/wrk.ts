/**
 * One `wrk` run (Debian's wrk) of JSON POSTs against a URL, for the throughput benchmarks.
 *
 * @module
 */
import { orAfter } from "../../agents/timers.ts";

/** What `wrk` reached: the requests it completed and their rate. */
export interface WrkResult {
  requests: number;
  perSecond: number;
}

/** wrk's threads for `connections` connections: two, or one for one (wrk refuses more threads than connections). */
export function wrkThreads(connections: number): number {
  return Math.min(2, connections);
}

/** Posts `body` to `url` from `connections` connections for `seconds`; any non-2xx answer fails it. */
export async function postWithWrk(
  url: string,
  body: string,
  { connections, seconds, dir }: { connections: number; seconds: number; dir: string },
): Promise<WrkResult> {
  const script = `${dir}/post.lua`;
  await Deno.writeTextFile(
    script,
    `wrk.method = "POST"\nwrk.body = ${
      JSON.stringify(body)
    }\nwrk.headers["content-type"] = "application/json"\n`,
  );
  const out = await new Deno.Command("wrk", {
    args: [`-t${wrkThreads(connections)}`, `-c${connections}`, `-d${seconds}s`, "-s", script, url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success || /Non-2xx or 3xx responses/.test(text)) {
    throw new Error(`wrk against ${url} failed:\n${text}`);
  }
  return {
    requests: Number(/(\d+) requests in/.exec(text)![1]),
    perSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)![1]),
  };
}

/** The wrk benchmarks' shared flags as numbers, each checked against its range. */
export function wrkFlags(values: { rounds?: string; seconds?: string; connections?: string }): {
  rounds: number;
  seconds: number;
  connections: number;
} {
  const flags = {
    rounds: Number(values.rounds),
    seconds: Number(values.seconds),
    connections: Number(values.connections),
  };
  const max = { rounds: 50, seconds: 60, connections: 256 };
  for (const [name, v] of Object.entries(flags) as [keyof typeof max, number][]) {
    if (!Number.isInteger(v) || v < 1 || v > max[name]) {
      throw new RangeError(
        `Cannot run as '--${name}' must be an integer in 1..${max[name]}: current value is ${v}`,
      );
    }
  }
  return flags;
}

/** Ends the benchmark with a hint when Debian's wrk is not installed. */
export async function requireWrk(): Promise<void> {
  if (!(await new Deno.Command("sh", { args: ["-c", "command -v wrk"], stdout: "null" }).output()).success) {
    console.error("wrk is missing: install Debian's package `wrk` (apt-get install wrk)");
    Deno.exit(2);
  }
}

/** Creates a `demo.counter` on the host at `hostUrl` once it serves; its messages URL. */
export async function counterMessagesUrl(hostUrl: string): Promise<string> {
  // The host prints its URL as soon as it listens; create waits until it serves.
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${hostUrl}/v1/agents`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "demo.counter" }),
    });
    const body = await res.json();
    if (res.status === 201) return `${hostUrl}/v1/agents/${body.id}/messages`;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("could not create the counter");
}

/** How long a server gets to stop after SIGTERM before it is killed. */
const STOP_MS = 10_000;

/** Stops the benchmark's servers (SIGKILL after STOP_MS for one that hangs) and removes its scratch folder. */
export async function stopServers(children: Deno.ChildProcess[], dir: string): Promise<void> {
  for (const child of children) {
    try {
      child.kill("SIGTERM");
      if (await orAfter(child.status.then(() => true), STOP_MS, false) === false) child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {/* already gone */});
}
