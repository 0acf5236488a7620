/**
 * CPU time per message: a host process (`main.ts host`, as users start it) under `wrk -c8` to one
 * `demo.counter`, its CPU read from /proc before and after each run: the whole process and each
 * of its threads (the kernel's main thread, the agent workers, the rest: V8's and Tokio's helpers).
 * CPU per message moves less with other load on the machine than requests per second do. The
 * reference is a bare Hono echo route in a process of its own under the same load, rounds
 * alternating: on a machine whose cores wrk and the server share, requests per second follow the
 * CPU each request costs. A second reference in that process, the bare route plus one round trip
 * to a bare worker (echo_hop.ts), is the floor: what any design that runs agent code off the HTTP
 * thread pays. `--connections 1` (one request at a time, as `http_message.ts` sends them) shows
 * where a lone message's CPU goes, thread by thread, against the floor's.
 *
 * `--baseline DIR` also starts a host from the checkout in DIR (the code before a change), measured
 * in the same alternating rounds.
 *
 * `--profile DIR` starts the host with `--cpu-prof` (V8's sampling profiler, one .cpuprofile per
 * thread, written at exit) for a breakdown by function.
 *
 * Run: `deno run -A scripts/bench/message_cpu.ts [--rounds 2] [--seconds 4] [--connections 8] [--profile DIR] [--only get|increment]
 *   [--baseline CHECKOUT]`
 */
import { parseArgs } from "node:util";
import { median } from "./stats.ts";
import { spawnPrintingUrl } from "../spawn_host.ts";
import { counterMessagesUrl, postWithWrk, requireWrk, stopServers, wrkFlags, wrkThreads } from "./wrk.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "2" },
    seconds: { type: "string", default: "4" },
    connections: { type: "string", default: "8" },
    profile: { type: "string" },
    only: { type: "string" },
    baseline: { type: "string" },
  },
});
const { rounds, seconds, connections } = wrkFlags(values);
await requireWrk();

const root = new URL("../../", import.meta.url).pathname;
const work = await Deno.makeTempDir({ prefix: "paglets-bench-cpu-" });
const TICK_US = 1e6 / 100; // USER_HZ: clock ticks of /proc/*/stat are 10 ms on Linux

/** CPU ticks (utime + stime) of each thread of `pid`, by thread id, with the thread's name. */
function threadTicks(pid: number): Map<string, { name: string; ticks: number }> {
  const out = new Map<string, { name: string; ticks: number }>();
  for (const entry of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/task/${entry.name}/stat`);
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(entry.name, { name, ticks: Number(fields[11]) + Number(fields[12]) });
    } catch { /* the thread ended */ }
  }
  return out;
}

/** Which part of the host a thread is: the kernel's main thread, an agent worker, or the rest. */
function role(tid: string, pid: number, name: string): "kernel" | "workers" | "other" {
  if (tid === String(pid)) return "kernel";
  // Deno names the thread of each Web Worker `worker-N` (the agent workers; compute workers idle here).
  return name.startsWith("worker-") ? "workers" : "other";
}

/** One wrk run of `body` against `url`; see wrk.ts. */
function wrk(url: string, body: string): Promise<number> {
  return postWithWrk(url, body, { connections, seconds, dir: work }).then((r) => r.requests);
}

const flags = values.profile ? ["--cpu-prof", `--cpu-prof-dir=${values.profile}`] : [];
const children: Deno.ChildProcess[] = [];
async function spawn(args: string[]): Promise<{ pid: number; url: string }> {
  const { child, url } = await spawnPrintingUrl(Deno.execPath(), args, {
    timeoutMs: 20_000,
    stderr: "inherit",
  });
  children.push(child);
  return { pid: child.pid, url };
}
try {
  const bare = await spawn([
    "run",
    "--quiet",
    "--allow-all",
    "--config",
    `${root}deno.json`,
    `${root}scripts/bench/bare_echo.ts`,
  ]);
  /** A host from the checkout at `dir`, with one counter: its pid and the counter's messages URL. */
  const startHost = async (dir: string, name: string) => {
    const host = await spawn([
      "run",
      "--quiet",
      "--allow-all",
      ...flags,
      "--config",
      `${dir}deno.json`,
      `${dir}main.ts`,
      "host",
      "--name",
      name,
      "--port",
      "0",
      "--data-dir",
      `${work}/${name}`,
      "--json",
    ]);
    return { pid: host.pid, messages: await counterMessagesUrl(host.url) };
  };
  const hosts = [{ label: "", ...await startHost(root, "bench") }];
  if (values.baseline) {
    hosts.push({
      label: "baseline ",
      ...await startHost(`${values.baseline.replace(/\/*$/, "")}/`, "baseline"),
    });
  }
  const get = JSON.stringify({ kind: "get", args: {} });
  const increment = JSON.stringify({ kind: "increment", args: { by: 1 } });
  const targets: [string, number, string, string][] = [
    ["bare Hono echo (reference)", bare.pid, `${bare.url}/echo`, get],
    ["floor: bare route + worker hop", bare.pid, `${bare.url}/echo-hop`, get],
  ];
  const references = targets.length;
  for (const [kind, body] of [["get", get], ["increment", increment]]) {
    if (values.only && values.only !== kind) continue;
    const name = kind === "get" ? "read-only (get)" : "state-changing (increment)";
    for (const host of hosts) targets.push([`${host.label}${name}`, host.pid, host.messages, body]);
  }
  if (targets.length === references) {
    throw new RangeError(`Cannot run as '--only' must be get or increment: current value is ${values.only}`);
  }
  /** Requests each process answered, warm-up included (what a profile covers). */
  const served = new Map<number, number>();
  const count = (pid: number, n: number) => served.set(pid, (served.get(pid) ?? 0) + n);
  for (const [, pid, url, body] of targets) count(pid, await wrk(url, body)); // warm-up
  const samples = targets.map(() => ({
    total: [] as number[],
    kernel: [] as number[],
    workers: [] as number[],
    other: [] as number[],
    rate: [] as number[],
  }));
  for (let round = 0; round < rounds; round++) {
    for (const [i, [, pid, url, body]] of targets.entries()) {
      const before = threadTicks(pid);
      const n = await wrk(url, body);
      count(pid, n);
      const after = threadTicks(pid);
      const parts = { kernel: 0, workers: 0, other: 0 };
      for (const [tid, t] of after) parts[role(tid, pid, t.name)] += t.ticks - (before.get(tid)?.ticks ?? 0);
      const s = samples[i];
      const per = (ticks: number) => ticks * TICK_US / n;
      s.kernel.push(per(parts.kernel));
      s.workers.push(per(parts.workers));
      s.other.push(per(parts.other));
      s.total.push(per(parts.kernel + parts.workers + parts.other));
      s.rate.push(n / seconds);
    }
  }
  const show = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return `${median([...xs]).toFixed(1)} (${sorted[0].toFixed(1)}–${sorted.at(-1)!.toFixed(1)})`;
  };
  console.log(
    `wrk -t${
      wrkThreads(connections)
    } -c${connections} -d${seconds}s, ${rounds} alternating rounds; load average ${loadAverage()}`,
  );
  console.log(
    "CPU µs per request, median (range): process = main thread + web workers + other threads (V8, Tokio)",
  );
  const bareTotal = median([...samples[0].total]);
  const floorTotal = median([...samples[1].total]);
  for (const [i, [name]] of targets.entries()) {
    const s = samples[i];
    const total = median([...s.total]);
    const ratios = i === 0 ? [] : [`${(total / bareTotal).toFixed(2)}× the bare route's CPU`];
    if (i >= references) ratios.push(`${(total / floorTotal).toFixed(2)}× the floor's`);
    const ratio = ratios.length > 0 ? `; ${ratios.join(", ")}` : "";
    console.log(
      `  ${name.padEnd(37)} ${show(s.total)} = ${show(s.kernel)} + ${show(s.workers)} + ${show(s.other)}; ${
        median([...s.rate]).toFixed(0)
      }/s${ratio}`,
    );
  }
  if (values.profile) {
    console.log(
      `profiles in ${values.profile}; requests answered, warm-up included: ${
        hosts.map((h) => `${h.label || "host "}pid ${h.pid}: ${served.get(h.pid)}`).join(", ")
      }`,
    );
  }
} finally {
  await stopServers(children, work);
}

function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}
