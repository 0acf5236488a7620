/**
 * CPU affinity of threads through libc (`sched_setaffinity`) over Deno FFI.
 *
 * Compute steps run in Web Workers, which are OS threads of the host process.
 * Linux affinity is per thread: `sched_setaffinity(0, …)` pins the calling
 * thread only, so a worker pins itself from inside (see `compute_worker.ts`),
 * and the kernel can re-pin a running worker by its thread id (elastic masks).
 *
 * Nothing here throws: where affinity is unsupported (not Linux, no libc, no
 * FFI permission) the results say `supported: false` with the reason, and
 * jobs still run, just unpinned.
 *
 * @module
 */
import { libcOnce } from "../libc.ts";

/** The outcome of a pin attempt. */
export interface PinResult {
  /** Whether this platform and process can set thread affinity at all. */
  supported: boolean;
  /** Whether the thread now runs only on the requested CPUs. */
  enforced: boolean;
  /** The thread's mask after the attempt, when it could be read. */
  appliedCpuIds?: number[];
  /** Why it is not supported or not enforced. */
  error?: string;
}

const SYMBOLS = {
  sched_setaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
  sched_getaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
  gettid: { parameters: [], result: "i32", optional: true },
  syscall: { parameters: ["i64"], result: "i64", optional: true },
  __errno_location: { parameters: [], result: "pointer", optional: true },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** Bytes of a cpu_set_t for 1024 CPUs; grown on EINVAL for bigger machines. */
const MIN_MASK_BYTES = 128;
const MAX_MASK_BYTES = 8192;
const EINVAL = 22;
const ERRNO_NAMES: Record<number, string> = { 1: "EPERM", 3: "ESRCH", 14: "EFAULT", 22: "EINVAL" };
/** `SYS_gettid` for glibc older than 2.30, which has no gettid wrapper. */
const SYS_GETTID: Record<string, bigint> = { x86_64: 186n, aarch64: 178n };

const libc = libcOnce(SYMBOLS);
let maskBytes = MIN_MASK_BYTES;

function load(): Libc | null {
  return libc().symbols;
}

/** Why affinity cannot be set here. */
function unsupported(): string {
  return `cpu affinity: ${libc().error}`;
}

let support: { supported: boolean; error?: string } | undefined;

/**
 * Whether thread affinity can be set here, and why not: libc must open and a first
 * `sched_getaffinity` must succeed (a sandbox's system-call filter may refuse it). Probed once.
 */
export function affinitySupport(): { supported: boolean; error?: string } {
  if (support) return support;
  const lib = load();
  if (!lib) return support = { supported: false, error: unsupported() };
  if (getAffinity(0) !== undefined) return support = { supported: true };
  return support = {
    supported: false,
    error: `cpu affinity: sched_getaffinity failed: ${describeErrno(errno(lib))}`,
  };
}

function errno(lib: Libc): number | undefined {
  const pointer = lib.__errno_location?.();
  return pointer ? new Deno.UnsafePointerView(pointer).getInt32() : undefined;
}

function describeErrno(code: number | undefined): string {
  return code === undefined ? "errno unknown" : `errno ${code} (${ERRNO_NAMES[code] ?? "?"})`;
}

function toMask(cpuIds: readonly number[], bytes: number): Uint8Array {
  const mask = new Uint8Array(bytes);
  for (const id of cpuIds) mask[id >> 3] |= 1 << (id & 7);
  return mask;
}

function fromMask(mask: Uint8Array): number[] {
  const ids: number[] = [];
  mask.forEach((byte, i) => {
    for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) ids.push(i * 8 + bit);
  });
  return ids;
}

/** Reads the mask of a thread (0 = calling thread); undefined when unsupported or on error. */
function getAffinity(tid: number): number[] | undefined {
  const lib = load();
  if (!lib) return undefined;
  for (let bytes = maskBytes; bytes <= MAX_MASK_BYTES; bytes *= 2) {
    const mask = new Uint8Array(bytes);
    if (lib.sched_getaffinity(tid, BigInt(bytes), mask) === 0) {
      maskBytes = bytes;
      return fromMask(mask);
    }
    if (errno(lib) !== EINVAL) return undefined;
  }
  return undefined;
}

/** Pins a thread of this process (0 = the calling thread) to the given CPU ids. */
export function pinThread(tid: number, cpuIds: readonly number[]): PinResult {
  const lib = load();
  if (!lib) return { supported: false, enforced: false, error: unsupported() };
  const bad = cpuIds.find((id) => !Number.isInteger(id) || id < 0 || id >= MAX_MASK_BYTES * 8);
  if (cpuIds.length === 0 || bad !== undefined) {
    const why = cpuIds.length === 0 ? "the list is empty" : `${bad} is not a cpu id`;
    return { supported: true, enforced: false, error: `Cannot pin thread as 'cpuIds' is invalid: ${why}` };
  }
  const bytes = Math.max(maskBytes, Math.ceil((Math.max(...cpuIds) + 1) / 64) * 8);
  if (lib.sched_setaffinity(tid, BigInt(bytes), toMask(cpuIds, bytes)) !== 0) {
    const code = errno(lib);
    return {
      supported: true,
      enforced: false,
      appliedCpuIds: getAffinity(tid),
      error: `sched_setaffinity(${tid}, [${cpuIds.join(",")}]) failed: ${describeErrno(code)}`,
    };
  }
  const applied = getAffinity(tid);
  const wanted = new Set(cpuIds);
  const enforced = applied !== undefined && applied.length > 0 && applied.every((id) => wanted.has(id));
  return enforced ? { supported: true, enforced, appliedCpuIds: applied } : {
    supported: true,
    enforced,
    appliedCpuIds: applied,
    error: "the kernel did not apply the requested mask",
  };
}

/**
 * Pins the calling thread. Call it inside the worker that runs the job: pid 0
 * means "this thread", so calling it on the kernel thread pins the kernel.
 *
 * @example
 * ```ts
 * const pinned = pinCurrentThread([0]);
 * if (!pinned.enforced) console.warn(`running unpinned: ${pinned.error}`);
 * ```
 */
export function pinCurrentThread(cpuIds: readonly number[]): PinResult {
  return pinThread(0, cpuIds);
}

/** The calling thread's CPU mask, or undefined where unsupported. */
export function currentThreadCpus(): number[] | undefined {
  return getAffinity(0);
}

/** The calling thread's kernel thread id (tid), or undefined where unsupported. */
export function threadId(): number | undefined {
  const lib = load();
  if (!lib) return undefined;
  if (lib.gettid) return lib.gettid();
  const number = SYS_GETTID[Deno.build.arch];
  return lib.syscall && number !== undefined ? Number(lib.syscall(number)) : undefined;
}

/**
 * Parses a kernel CPU list such as `0-1,3` into ascending ids.
 * Throws a RangeError naming the text when it is not a CPU list.
 */
export function parseCpuList(text: string): number[] {
  const ids = new Set<number>();
  const trimmed = text.trim();
  if (trimmed === "") return [];
  for (const part of trimmed.split(",")) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!match) {
      throw new RangeError(`Cannot parse cpu list as '${part}' is not a cpu or range: text is '${text}'`);
    }
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    for (let id = from; id <= to; id++) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

/**
 * What the kernel reports in `/proc/self/task/<tid>/status` as
 * `Cpus_allowed_list`, i.e. the CPUs the thread may run on, independent of
 * FFI. Undefined when the file or the field cannot be read.
 */
export function readCpusAllowedList(tid: number | undefined = threadId()): number[] | undefined {
  const path = tid === undefined ? "/proc/thread-self/status" : `/proc/self/task/${tid}/status`;
  try {
    const line = /^Cpus_allowed_list:\s*(.*)$/m.exec(Deno.readTextFileSync(path));
    return line ? parseCpuList(line[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU ids this process may use: the main thread's mask (its tid is the pid,
 * so workers see the process mask, not their own pin), falling back to
 * `/proc/self/status`, then to 0…n-1.
 */
export function eligibleCpuIds(): number[] {
  const fromKernel = getAffinity(Deno.pid) ?? readCpusAllowedList(Deno.pid);
  if (fromKernel && fromKernel.length > 0) return fromKernel;
  return Array.from({ length: Math.max(1, navigator.hardwareConcurrency) }, (_, i) => i);
}
