/**
 * The process's own metrics, read from /proc at scrape time (Linux; elsewhere they are left out):
 * resident memory of all threads, CPU seconds, open descriptors, start time, and the event loop's
 * lag measured by a timer that checks how late it fires.
 */
import type { MetricsRegistry } from "./registry.ts";
import { CLOCK_TICKS_PER_SECOND, procCpuTicks } from "../proc_cpu.ts";
import { cancel, every } from "../../agents/timers.ts";

/** How often the event-loop probe fires. */
const LAG_PROBE_MS = 250;

export function processMetrics(registry: MetricsRegistry): { stop(): void } {
  const rss = registry.gauge(
    "process_resident_memory_bytes",
    "Resident memory of the process (all threads).",
  );
  const cpu = registry.counter("process_cpu_seconds_total", "CPU time of the process (user and system).");
  const fds = registry.gauge("process_open_fds", "Open file descriptors.");
  const maxFds = registry.gauge("process_max_fds", "The limit of open file descriptors.");
  const start = registry.gauge("process_start_time_seconds", "When the process started (Unix time).");
  const lag = registry.gauge(
    "paglets_event_loop_lag_seconds",
    "How late the host's event loop ran a timer, as the largest delay seen since the last scrape.",
  );
  const startedAt = Date.now() / 1000 - performance.now() / 1000;
  let worstLag = 0;
  let expected = performance.now() + LAG_PROBE_MS;
  const probe = every(LAG_PROBE_MS, () => {
    const now = performance.now();
    worstLag = Math.max(worstLag, Math.max(0, now - expected) / 1000);
    expected = now + LAG_PROBE_MS;
  }, { ref: false });

  registry.collect(() => {
    start.set({}, Math.round(startedAt));
    lag.set({}, worstLag);
    worstLag = 0;
    const status = readProc("/proc/self/status");
    const vmRss = status && /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    if (vmRss) rss.set({}, Number(vmRss[1]) * 1024);
    const ticks = procCpuTicks("/proc/self/stat");
    if (ticks !== undefined) cpu.setTotal({}, ticks / CLOCK_TICKS_PER_SECOND);
    try {
      let open = 0;
      for (const _ of Deno.readDirSync("/proc/self/fd")) open++;
      fds.set({}, open);
    } catch { /* not Linux */ }
    const limits = readProc("/proc/self/limits");
    const soft = limits && /^Max open files\s+(\d+)/m.exec(limits);
    if (soft) maxFds.set({}, Number(soft[1]));
  });
  return { stop: () => cancel(probe) };
}

function readProc(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}
