/**
 * Soak: mixed load on a 3-host mesh of real host processes (as users start them), tracking each
 * host's resident memory, open file descriptors and SQLite size once a second.
 *
 * Every host gets client loops that own their agents (so no two operations race on one agent):
 * create a counter, increment it, read it, deactivate it and wake it with a message, dispatch it to
 * another host, dispose it once the population is full, and now and then run a short compute job.
 * Any error answer counts: the load is built so that a correct host answers every call with success.
 *
 * Run by hand: `deno run -A scripts/soak.ts [--seconds 600] [--plot docs/soak.svg] [--csv soak.csv]`
 * (CI runs 2 minutes of it: tests/chaos/soak_test.ts).
 */
import { parseArgs } from "node:util";
import { HostClient } from "../host/client.ts";
import { spawnPrintingUrl } from "./spawn_host.ts";

export interface SoakOptions {
  /** How long the load runs. @default 120 */
  seconds: number;
  /** Client loops per host. @default 3 */
  loopsPerHost: number;
  /** Agents each loop keeps alive before it disposes its oldest. @default 40 */
  population: number;
  /** Progress lines on stderr. @default false */
  verbose: boolean;
}

/** One reading of one host. */
export interface SoakSample {
  t: number;
  host: string;
  rssMiB: number;
  fds: number;
  sqliteMiB: number;
}

export interface SoakResult {
  samples: SoakSample[];
  operations: number;
  errors: string[];
}

const NAMES = ["alpha", "beta", "gamma"];
const root = new URL("../", import.meta.url).pathname;

interface SoakHost {
  name: string;
  url: string;
  pid: number;
  dataDir: string;
  client: HostClient;
  child: Deno.ChildProcess;
}

async function startSoakHost(name: string, peer: string | null): Promise<SoakHost> {
  const dataDir = await Deno.makeTempDir({ prefix: `paglets-soak-${name}-` });
  const args = ["host", "--name", name, "--port", "0", "--data-dir", dataDir, "--json"];
  if (peer) args.push("--peer", peer);
  const { child, url } = await spawnPrintingUrl(`${root}scripts/paglets`, args);
  return { name, url, pid: child.pid, dataDir, client: new HostClient(url), child };
}

function sample(host: SoakHost, t: number): SoakSample {
  const status = Deno.readTextFileSync(`/proc/${host.pid}/status`);
  let fds = 0;
  for (const _ of Deno.readDirSync(`/proc/${host.pid}/fd`)) fds++;
  let sqlite = 0;
  for (const suffix of ["", "-wal", "-shm"]) {
    try {
      sqlite += Deno.statSync(`${host.dataDir}/host.sqlite${suffix}`).size;
    } catch { /* no WAL right now */ }
  }
  return {
    t,
    host: host.name,
    rssMiB: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024,
    fds,
    sqliteMiB: sqlite / (1024 * 1024),
  };
}

/** Runs the soak and stops every host it started. */
export async function runSoak(options: Partial<SoakOptions> = {}): Promise<SoakResult> {
  const { seconds = 120, loopsPerHost = 3, population = 40, verbose = false } = options;
  const hosts: SoakHost[] = [];
  const samples: SoakSample[] = [];
  const errors: string[] = [];
  let operations = 0;
  try {
    for (const name of NAMES) hosts.push(await startSoakHost(name, hosts[0]?.url ?? null));
    const start = Date.now();
    const end = start + seconds * 1000;
    const call = async <T>(what: string, fn: () => Promise<T>): Promise<T | null> => {
      operations++;
      try {
        return await fn();
      } catch (err) {
        if (errors.length < 50) errors.push(`${what}: ${(err as Error).message}`);
        return null;
      }
    };
    const loop = async (home: SoakHost, seed: number) => {
      const mine: { id: string; at: SoakHost; count: number }[] = [];
      const jobs: string[] = [];
      // A job goes wherever compute-slots places it: forwarding records say where.
      const disposeJob = async (id: string) => {
        let at = home;
        for (let hop = 0; hop < hosts.length; hop++) {
          const record = await call("find job", () => at.client.getAgent(id));
          const next = hosts.find((h) => h.url === record?.movedTo);
          if (!next) break;
          at = next;
        }
        await call("dispose job", () => at.client.dispose(id));
      };
      for (let step = seed; Date.now() < end && step < seed + 10_000_000; step++) {
        if (mine.length >= population) {
          const old = mine.shift()!;
          await call("dispose", () => old.at.client.dispose(old.id));
        }
        const created = await call("create", () => home.client.createAgent({ type: "demo.counter" }));
        if (!created) continue;
        const agent = { id: created.id, at: home, count: 0 };
        mine.push(agent);
        for (let i = 0; i < 5; i++) {
          const reply = await call("increment", () => agent.at.client.send(agent.id, { kind: "increment" }));
          if (reply) agent.count++;
        }
        const target = mine[step % mine.length];
        const got = await call("get", () => target.at.client.send(target.id, { kind: "get" })) as
          | { count: number }
          | null;
        if (got && got.count !== target.count) {
          errors.push(`get ${target.id}: ${got.count} != ${target.count}`);
        }
        if (step % 3 === 0) {
          await call("deactivate", () => agent.at.client.deactivate(agent.id, { activateOnMessage: true }));
          if (await call("wake", () => agent.at.client.send(agent.id, { kind: "increment" }))) agent.count++;
        }
        if (step % 4 === 0) {
          const to = hosts[(hosts.indexOf(agent.at) + 1 + (step % 2)) % hosts.length];
          if (await call("dispatch", () => agent.at.client.dispatch(agent.id, to.url))) agent.at = to;
        }
        if (step % 25 === 0) {
          const job = await call(
            "job",
            () => home.client.createAgent({ type: "demo.spinjob", state: { cpuCores: 1, ms: 20 } }),
          );
          if (job) jobs.push(job.id);
          if (jobs.length > 4) await disposeJob(jobs.shift()!);
        }
      }
      // Leave nothing behind.
      for (const agent of mine) await call("dispose", () => agent.at.client.dispose(agent.id));
      for (const id of jobs) await disposeJob(id);
    };
    let ticks = 0;
    const sampler = setInterval(() => {
      const t = (Date.now() - start) / 1000;
      for (const host of hosts) samples.push(sample(host, t));
      if (verbose && ++ticks % 10 === 0) {
        const last = samples.slice(-hosts.length).map((s) =>
          `${s.host} ${s.rssMiB.toFixed(0)} MiB ${s.fds} fds ${s.sqliteMiB.toFixed(1)} MiB db`
        );
        console.error(
          `soak ${t.toFixed(0)}/${seconds} s, ${operations} ops, ${errors.length} errors | ${
            last.join(" | ")
          }`,
        );
      }
    }, 1000);
    try {
      await Promise.all(
        hosts.flatMap((h, i) => Array.from({ length: loopsPerHost }, (_, j) => loop(h, i * 7 + j))),
      );
    } finally {
      clearInterval(sampler);
    }
    for (const host of hosts) samples.push(sample(host, (Date.now() - start) / 1000));
    return { samples, operations, errors };
  } finally {
    for (const host of hosts) {
      try {
        host.child.kill("SIGTERM");
      } catch { /* gone */ }
      await host.child.status;
      await Deno.remove(host.dataDir, { recursive: true }).catch(() => {/* already gone */});
    }
  }
}

/** An SVG with one small chart per measure, a line per host. */
export function soakPlot(samples: SoakSample[]): string {
  const measures: [keyof SoakSample, string][] = [["rssMiB", "resident memory (MiB)"], ["fds", "open fds"], [
    "sqliteMiB",
    "SQLite size (MiB)",
  ]];
  const colors = ["#1f77b4", "#d62728", "#2ca02c"];
  const w = 360, h = 200, pad = 36;
  const tMax = Math.max(1, ...samples.map((s) => s.t));
  const parts: string[] = [];
  measures.forEach(([key, title], k) => {
    const x0 = k * (w + 20);
    const vMax = Math.max(1, ...samples.map((s) => s[key] as number)) * 1.1;
    parts.push(`<g transform="translate(${x0},0)"><text x="${pad}" y="16" font-size="13">${title}</text>`);
    parts.push(`<rect x="${pad}" y="24" width="${w - pad}" height="${h - 48}" fill="none" stroke="#999"/>`);
    parts.push(
      `<text x="2" y="32" font-size="10">${vMax.toFixed(0)}</text><text x="2" y="${
        h - 24
      }" font-size="10">0</text>`,
    );
    parts.push(`<text x="${w - 40}" y="${h - 8}" font-size="10">${tMax.toFixed(0)} s</text>`);
    NAMES.forEach((name, i) => {
      const points = samples.filter((s) => s.host === name).map((s) =>
        `${(pad + (s.t / tMax) * (w - pad)).toFixed(1)},${
          (h - 24 - ((s[key] as number) / vMax) * (h - 48)).toFixed(1)
        }`
      );
      parts.push(
        `<polyline fill="none" stroke="${colors[i]}" stroke-width="1.5" points="${points.join(" ")}"/>`,
      );
      parts.push(
        `<text x="${pad + 8 + i * 60}" y="${h - 30}" font-size="10" fill="${colors[i]}">${name}</text>`,
      );
    });
    parts.push("</g>");
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${
    3 * (w + 20)
  }" height="${h}" font-family="sans-serif">\n${parts.join("\n")}\n</svg>\n`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      seconds: { type: "string", default: "600" },
      plot: { type: "string", default: "docs/soak.svg" },
      csv: { type: "string" },
    },
  });
  const seconds = Number(values.seconds);
  if (!Number.isFinite(seconds) || seconds < 5 || seconds > 86_400) {
    console.error(`--seconds must be a number in 5..86400: current value is ${values.seconds}`);
    Deno.exit(2);
  }
  const result = await runSoak({ seconds, verbose: true });
  await Deno.writeTextFile(values.plot!, soakPlot(result.samples));
  if (values.csv) {
    const rows = result.samples.map((s) =>
      `${s.t},${s.host},${s.rssMiB.toFixed(1)},${s.fds},${s.sqliteMiB.toFixed(2)}`
    );
    await Deno.writeTextFile(values.csv, ["t,host,rss_mib,fds,sqlite_mib", ...rows].join("\n") + "\n");
  }
  console.log(`${result.operations} operations, ${result.errors.length} errors; plot: ${values.plot}`);
  for (const e of result.errors) console.log(`  ${e}`);
  if (result.errors.length) Deno.exit(1);
}
