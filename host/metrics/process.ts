/**
 * Process families read from /proc/self at scrape time, and the event-loop lag from a timer's
 * drift. prom-client's default collectors read process.* and perf_hooks in ways Deno does not
 * answer in full (RSS of the main thread only, no event-loop histogram), so the host reads Linux
 * directly; on other systems the /proc families are left out rather than reported wrong.
 */
import { Counter, Gauge, type Registry } from "prom-client";

const PAGE_BYTES = 4096;
/** USER_HZ: the unit of utime/stime in /proc/self/stat on every Linux Deno runs on. */
const CLOCK_TICKS = 100;
const LAG_SAMPLE_MS = 500;

/** Registers the process families on `registry`; the returned function stops the lag sampler. */
export function registerProcessMetrics(registry: Registry): () => void {
  const registers = [registry];
  const onLinux = Deno.build.os === "linux";
  if (onLinux) {
    new Gauge({
      name: "process_resident_memory_bytes",
      help: "Resident memory of the host process (all threads, workers included), in bytes.",
      registers,
      collect() {
        const statm = readProc("/proc/self/statm");
        if (statm) this.set(Number(statm.split(" ")[1]) * PAGE_BYTES);
      },
    });
    // The kernel keeps the count: each scrape copies its reading into the counter.
    new Counter({
      name: "process_cpu_seconds_total",
      help: "User and system CPU time of the host process (all threads), in seconds.",
      registers,
      collect() {
        const stat = readProc("/proc/self/stat");
        if (!stat) return;
        // Fields after the command name (which may hold spaces) start at field 3.
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        this.reset();
        this.inc((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS);
      },
    });
    new Gauge({
      name: "process_open_fds",
      help: "Open file descriptors of the host process.",
      registers,
      collect() {
        let n = 0;
        for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
        this.set(n);
      },
    });
    const startTime = processStartSeconds();
    if (startTime !== null) {
      new Gauge({
        name: "process_start_time_seconds",
        help: "Start time of the host process since the Unix epoch, in seconds.",
        registers,
        collect() {
          this.set(startTime);
        },
      });
    }
  }
  // Event-loop lag: how late a timer fires; the gauge shows the largest lag since the last scrape.
  let worst = 0;
  let expected = performance.now() + LAG_SAMPLE_MS;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - expected);
    expected = now + LAG_SAMPLE_MS;
  }, LAG_SAMPLE_MS);
  Deno.unrefTimer(timer);
  new Gauge({
    name: "paglets_event_loop_lag_seconds",
    help:
      `Largest delay of a ${LAG_SAMPLE_MS} ms timer on the host's main thread since the last scrape, in seconds.`,
    registers,
    collect() {
      this.set(worst / 1000);
      worst = 0;
    },
  });
  return () => clearInterval(timer);
}

function readProc(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

/** Boot time (/proc/stat btime) plus the process's start tick (field 22 of /proc/self/stat). */
function processStartSeconds(): number | null {
  const stat = readProc("/proc/self/stat");
  const boot = /^btime (\d+)$/m.exec(readProc("/proc/stat") ?? "");
  if (!stat || !boot) return null;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(boot[1]) + Number(fields[19]) / CLOCK_TICKS;
}
