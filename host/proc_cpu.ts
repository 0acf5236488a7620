/**
 * CPU time from Linux's `/proc/<pid>[/task/<tid>]/stat` files, for the metrics, compute-slots'
 * usage readings and its measure of other processes' load.
 *
 * @module
 */

/** Clock ticks per second of /proc CPU times (USER_HZ, 100 on every mainstream Linux). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** User + system time in clock ticks of the process or thread whose `stat` file is `path`; undefined off Linux. */
export function procCpuTicks(path: string): number | undefined {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
  // Fields after the command name (which may contain spaces) start with the state (field 3):
  // utime and stime are the 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks : undefined;
}

/**
 * When a thread of this process started (clock ticks since boot, field 22 of its `stat`), which
 * tells it apart from a later thread that got the same id; undefined when there is no such thread.
 */
export function threadStartTicks(tid: number): number | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/self/task/${tid}/stat`);
    const start = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    return Number.isFinite(start) ? start : undefined;
  } catch {
    return undefined;
  }
}
