/**
 * The process list from `/proc` (Linux): name, state, owner, resident memory, CPU share and
 * command line of every readable process. Processes that vanish or deny access while being read
 * are skipped.
 *
 * @module
 */
import { round } from "./cpu.ts";
import { forEachLimited } from "../../agents/limited.ts";

/** Clock ticks per second of /proc counters; 100 on every mainstream Linux. */
const CLOCK_TICKS = 100;

/** One process. */
export interface ProcessInfo {
  pid: number;
  name: string;
  /** One-letter state: R running, S sleeping, D disk wait, Z zombie, T stopped, I idle. */
  state: string;
  username: string | null;
  rssBytes: number;
  memoryPercent: number;
  /** Share of one CPU (can exceed 100 for multi-threaded processes). */
  cpuPercent: number;
  cmdline: string;
}

/** The fields of `/proc/<pid>/stat` we use. */
export interface PidStat {
  pid: number;
  name: string;
  state: string;
  /** utime + stime in clock ticks. */
  cpuTicks: number;
  /** Start time after boot in clock ticks. */
  startTicks: number;
}

/**
 * Parses `/proc/<pid>/stat`; the name is in parentheses and may itself contain spaces and
 * parentheses, so fields are counted from the last `)`.
 *
 * @example
 * ```ts
 * parseStatLine("42 (my (odd) name) S 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 500 0 0");
 * // → { pid: 42, name: "my (odd) name", state: "S", cpuTicks: 10, startTicks: 500 }
 * ```
 */
export function parseStatLine(line: string): PidStat {
  const open = line.indexOf("(");
  const close = line.lastIndexOf(")");
  if (open < 0 || close < open) throw new Error(`not a /proc stat line: ${line.slice(0, 80)}`);
  const pid = Number(line.slice(0, open).trim());
  const name = line.slice(open + 1, close);
  // Fields after the name start at field 3 (state); utime is field 14, stime 15, starttime 22.
  const rest = line.slice(close + 1).trim().split(/\s+/);
  const field = (n: number) => Number(rest[n - 3] ?? 0);
  return { pid, name, state: rest[0] ?? "?", cpuTicks: field(14) + field(15), startTicks: field(22) };
}

/** Options of {@link ProcessTable.list}. */
export interface ProcessQuery {
  /** Case-insensitive substring of name or command line; "" = every process. @default "" */
  query?: string;
  /** At most this many (largest RSS first); 0 = all. @default 25 */
  limit?: number;
  /** Whole command lines instead of the program only. @default false */
  includeArgs?: boolean;
  /** Processes to leave out (the asking CLI's own, see {@link ownProcesses}). @default [] */
  exclude?: readonly ProcessIdentity[];
}

/**
 * One process exactly: the machine's boot (`/proc/sys/kernel/random/boot_id`), its pid and its
 * start time after boot, so that another machine's process or a later one with the same pid is not
 * taken for it.
 */
export interface ProcessIdentity {
  bootId: string;
  pid: number;
  startTicks: number;
}

/** The answer of {@link ProcessTable.list}. */
export interface ProcessList {
  processes: ProcessInfo[];
  /** How many matched before the limit. */
  matched: number;
  truncated: boolean;
}

/**
 * Lists processes. It remembers each process's CPU time from the previous listing, so the CPU
 * share is "since the last listing" when there was one, else the average over the process's life.
 */
export class ProcessTable {
  #previous = new Map<number, { ticks: number; at: number }>();
  #users: Map<number, string> | null = null;

  async list(options: ProcessQuery = {}): Promise<ProcessList> {
    const { query = "", limit = 25, includeArgs = false, exclude = [] } = options;
    if (!Number.isInteger(limit) || limit < 0) {
      throw new RangeError(
        `Cannot list processes as 'limit' must be an integer >= 0: current value is ${limit}`,
      );
    }
    const needle = query.trim().toLowerCase();
    const [pids, uptime, users, bootId] = await Promise.all([
      listPids(),
      readUptime(),
      this.#usernames(),
      exclude.length ? readBootId() : null,
    ]);
    const excluded = (stat: PidStat) =>
      exclude.some((p) => p.bootId === bootId && p.pid === stat.pid && p.startTicks === stat.startTicks);
    const memTotal = Deno.systemMemoryInfo().total;
    const now = Date.now();
    const seen = new Map<number, { ticks: number; at: number }>();
    const found: ProcessInfo[] = [];
    await forEachLimited(pids, 32, async (pid) => {
      const info = await readProcess(pid).catch(() => null);
      if (!info) return;
      seen.set(pid, { ticks: info.stat.cpuTicks, at: now });
      if (excluded(info.stat)) return;
      const haystack = `${info.stat.name} ${info.argv.join(" ")}`.toLowerCase();
      if (needle && !haystack.includes(needle)) return;
      const prev = this.#previous.get(pid);
      let cpuPercent = 0;
      if (prev && now > prev.at && info.stat.cpuTicks >= prev.ticks) {
        cpuPercent = ((info.stat.cpuTicks - prev.ticks) / CLOCK_TICKS) / ((now - prev.at) / 1000) * 100;
      } else if (uptime !== null) {
        const lifetime = uptime - info.stat.startTicks / CLOCK_TICKS;
        cpuPercent = lifetime > 0 ? (info.stat.cpuTicks / CLOCK_TICKS) / lifetime * 100 : 0;
      }
      const argv = info.argv.length ? info.argv : [`[${info.stat.name}]`];
      found.push({
        pid,
        name: info.stat.name,
        state: info.stat.state,
        username: info.uid === null ? null : users.get(info.uid) ?? String(info.uid),
        rssBytes: info.rssBytes,
        memoryPercent: memTotal > 0 ? round((info.rssBytes / memTotal) * 100, 2) : 0,
        cpuPercent: round(cpuPercent, 1),
        cmdline: includeArgs ? argv.join(" ") : argv[0],
      });
    });
    this.#previous = seen;
    found.sort((a, b) => b.rssBytes - a.rssBytes || a.pid - b.pid);
    const processes = limit > 0 ? found.slice(0, limit) : found;
    return { processes, matched: found.length, truncated: processes.length < found.length };
  }

  async #usernames(): Promise<Map<number, string>> {
    if (this.#users) return this.#users;
    const users = new Map<number, string>();
    try {
      for (const line of (await Deno.readTextFile("/etc/passwd")).split("\n")) {
        const [name, , uid] = line.split(":");
        if (name && uid !== undefined && Number.isInteger(Number(uid))) users.set(Number(uid), name);
      }
    } catch { /* no passwd file: numeric ids */ }
    this.#users = users;
    return users;
  }
}

/** This boot of this machine's kernel; null without /proc. */
async function readBootId(): Promise<string | null> {
  try {
    return (await Deno.readTextFile("/proc/sys/kernel/random/boot_id")).trim() || null;
  } catch {
    return null;
  }
}

/**
 * This process and the wrappers that run this very command (`timeout 30 paglets sys ps deno`: a
 * parent whose command line ends with this process's arguments), for {@link ProcessQuery.exclude}:
 * a listing asked by the CLI leaves out the CLI, whose command line holds the query. Empty without
 * /proc.
 */
export async function ownProcesses(args: readonly string[] = Deno.args): Promise<ProcessIdentity[]> {
  const bootId = await readBootId();
  if (!bootId) return [];
  const own: ProcessIdentity[] = [];
  let pid = Deno.pid;
  // Our own process always; an ancestor while it wraps this command (a few levels at most).
  for (let level = 0; level < 4 && pid > 1; level++) {
    let statLine: string, cmdline: string;
    try {
      [statLine, cmdline] = await Promise.all([
        Deno.readTextFile(`/proc/${pid}/stat`),
        Deno.readTextFile(`/proc/${pid}/cmdline`),
      ]);
    } catch {
      break;
    }
    const argv = cmdline.split("\0").filter(Boolean);
    if (level > 0 && !(args.length && endsWith(argv, args))) break;
    const stat = parseStatLine(statLine);
    own.push({ bootId, pid: stat.pid, startTicks: stat.startTicks });
    // The parent pid is the field after the state.
    pid = Number(statLine.slice(statLine.lastIndexOf(")") + 1).trim().split(/\s+/)[1]);
  }
  return own;
}

function endsWith(list: readonly string[], tail: readonly string[]): boolean {
  return list.length >= tail.length && tail.every((item, i) => list[list.length - tail.length + i] === item);
}

async function listPids(): Promise<number[]> {
  const pids: number[] = [];
  try {
    for await (const entry of Deno.readDir("/proc")) {
      if (/^\d+$/.test(entry.name)) pids.push(Number(entry.name));
    }
  } catch {
    throw new Error("process listing needs /proc (Linux)");
  }
  return pids;
}

async function readUptime(): Promise<number | null> {
  try {
    return Number((await Deno.readTextFile("/proc/uptime")).split(/\s+/)[0]);
  } catch {
    return null;
  }
}

async function readProcess(
  pid: number,
): Promise<{ stat: PidStat; argv: string[]; uid: number | null; rssBytes: number }> {
  const dir = `/proc/${pid}`;
  const [statText, cmdline, status] = await Promise.all([
    Deno.readTextFile(`${dir}/stat`),
    Deno.readTextFile(`${dir}/cmdline`).catch(() => ""),
    Deno.readTextFile(`${dir}/status`).catch(() => ""),
  ]);
  const stat = parseStatLine(statText);
  const argv = cmdline.split("\0").filter(Boolean);
  const uidMatch = /^Uid:\s+(\d+)/m.exec(status);
  const rssMatch = /^VmRSS:\s+(\d+)\s*kB/m.exec(status);
  return {
    stat,
    argv,
    uid: uidMatch ? Number(uidMatch[1]) : null,
    rssBytes: rssMatch ? Number(rssMatch[1]) * 1024 : 0,
  };
}
