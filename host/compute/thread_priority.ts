/**
 * Scheduling priority (nice value) of threads of this process, through libc `setpriority` over
 * Deno FFI. Linux nice values are per thread: `setpriority(PRIO_PROCESS, tid, nice)` changes
 * only that thread.
 *
 * compute-slots runs compute steps a little nicer than the kernel, so the kernel thread and the
 * agent workers (HTTP, messages, handing freed slots to the next job) get a CPU at once even when
 * every CPU is busy computing; a compute thread only loses time the kernel actually uses.
 *
 * Nothing here throws: off Linux, or without FFI, the result says why it did not apply.
 *
 * @module
 */
import { libcOnce } from "../libc.ts";
import { noteStrayThread } from "../stray_threads.ts";

const PRIO_PROCESS = 0;

const SYMBOLS = {
  setpriority: { parameters: ["i32", "u32", "i32"], result: "i32" },
  sched_setscheduler: { parameters: ["i32", "i32", "buffer"], result: "i32" },
} as const;

/** Linux's SCHED_IDLE policy: the thread runs only on CPU time no other thread wants. */
const SCHED_IDLE = 5;
/** Linux's normal policy. */
const SCHED_OTHER = 0;
/** Threads {@link abandonThread} put in SCHED_IDLE. */
const idled: number[] = [];

const libc = libcOnce(SYMBOLS);

/**
 * Sets the nice value (-20 … 19, higher = lower priority) of a thread of this process.
 *
 * @example
 * ```ts
 * const { ok, error } = setThreadNice(tid, 10);
 * if (!ok) console.warn(`compute thread keeps its priority: ${error}`);
 * ```
 */
export function setThreadNice(tid: number, nice: number): { ok: boolean; error?: string } {
  if (!Number.isInteger(nice) || nice < -20 || nice > 19) {
    return {
      ok: false,
      error: `Cannot set thread priority as 'nice' must be an integer -20..19: current value is ${nice}`,
    };
  }
  if (!Number.isInteger(tid) || tid <= 0) {
    return {
      ok: false,
      error: `Cannot set thread priority as 'tid' must be a thread id: current value is ${tid}`,
    };
  }
  const { symbols: lib, error } = libc();
  if (!lib) return { ok: false, error: `thread priorities: ${error}` };
  return lib.setpriority(PRIO_PROCESS, tid, nice) === 0
    ? { ok: true }
    : { ok: false, error: `setpriority(${tid}, ${nice}) failed` };
}

/**
 * Puts a thread of this process in Linux's SCHED_IDLE class: it then runs only when a CPU has
 * nothing else to do. For a thread the host cannot end (a compute step in an endless loop), so
 * that its CPUs serve everything else as if it were not there. Lowering a policy needs no
 * privilege.
 */
export function setThreadIdle(tid: number): { ok: boolean; error?: string } {
  if (!Number.isInteger(tid) || tid <= 0) {
    return { ok: false, error: `Cannot idle a thread as 'tid' must be a thread id: current value is ${tid}` };
  }
  const { symbols: lib, error } = libc();
  if (!lib) return { ok: false, error: `thread priorities: ${error}` };
  // struct sched_param { int sched_priority; } = { 0 }
  return lib.sched_setscheduler(tid, SCHED_IDLE, new Uint8Array(4)) === 0
    ? { ok: true }
    : { ok: false, error: `sched_setscheduler(${tid}, SCHED_IDLE) failed` };
}

/**
 * A thread of this process the host could not end (a worker left looping): counted as a stray
 * (host/stray_threads.ts) and, when its id is known, put in SCHED_IDLE. The agent worker pool and
 * compute-slots both leave their looping threads this way.
 */
export function abandonThread(tid: number | null): { ok: boolean; error?: string } {
  noteStrayThread();
  if (tid === null) return { ok: false, error: "its thread id is not known" };
  const idle = setThreadIdle(tid);
  if (idle.ok) {
    if (idled.length === 0) globalThis.addEventListener("unload", restoreIdled);
    idled.push(tid);
  }
  return idle;
}

/**
 * As the process exits (`Deno.exit` dispatches `unload`), the threads put in SCHED_IDLE get the
 * normal class back: a process ends once each of its threads has run, and on CPUs kept busy by other
 * processes a SCHED_IDLE thread may wait seconds for that turn. Leaving SCHED_IDLE needs
 * CAP_SYS_NICE or an RLIMIT_NICE of at least 1; without them the exit is as before.
 */
function restoreIdled(): void {
  const lib = libc().symbols;
  for (const tid of idled) lib?.sched_setscheduler(tid, SCHED_OTHER, new Uint8Array(4));
}
