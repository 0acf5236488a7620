/**
 * Memory, CPU topology, boot time and GPU readings of this machine.
 *
 * @module
 */
import { round } from "./cpu.ts";

/** Memory and swap in bytes and percent. */
export interface MemoryReading {
  memoryTotalBytes: number;
  memoryAvailableBytes: number;
  memoryUsedBytes: number;
  memoryPercent: number;
  swapTotalBytes: number;
  swapUsedBytes: number;
  swapPercent: number;
}

/** Memory now (used = total − available, like `free`). */
export function readMemory(): MemoryReading {
  const m = Deno.systemMemoryInfo();
  const used = Math.max(0, m.total - m.available);
  const swapUsed = Math.max(0, m.swapTotal - m.swapFree);
  return {
    memoryTotalBytes: m.total,
    memoryAvailableBytes: m.available,
    memoryUsedBytes: used,
    memoryPercent: m.total > 0 ? round((used / m.total) * 100, 1) : 0,
    swapTotalBytes: m.swapTotal,
    swapUsedBytes: swapUsed,
    swapPercent: m.swapTotal > 0 ? round((swapUsed / m.swapTotal) * 100, 1) : 0,
  };
}

/** Physical cores and model from /proc/cpuinfo; nulls where it is missing. */
export async function readCpuTopology(): Promise<{ physical: number | null; model: string | null }> {
  let text: string;
  try {
    text = await Deno.readTextFile("/proc/cpuinfo");
  } catch {
    return { physical: null, model: null };
  }
  const cores = new Set<string>();
  let model: string | null = null;
  for (const block of text.split(/\n\s*\n/)) {
    const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(block)?.[1]?.trim();
    const core = field("core id");
    if (core !== undefined) cores.add(`${field("physical id") ?? "0"}:${core}`);
    model ??= field("model name") ?? null;
  }
  return { physical: cores.size > 0 ? cores.size : null, model };
}

/** One NVIDIA GPU as nvidia-smi reports it. */
export interface GpuReading {
  index: number;
  name: string;
  utilizationPercent: number | null;
  memoryUsedMb: number | null;
  memoryTotalMb: number | null;
}

/** GPUs through `nvidia-smi` (best effort, bounded by `timeoutMs`). */
export async function readGpus(timeoutMs = 3000): Promise<{ gpus: GpuReading[]; error: string | null }> {
  try {
    const out = await new Deno.Command("nvidia-smi", {
      args: [
        "--query-gpu=index,name,utilization.gpu,memory.used,memory.total",
        "--format=csv,noheader,nounits",
      ],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
    if (!out.success) {
      return {
        gpus: [],
        error: new TextDecoder().decode(out.stderr).trim() || `nvidia-smi exited with ${out.code}`,
      };
    }
    return { gpus: parseNvidiaSmi(new TextDecoder().decode(out.stdout)), error: null };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { gpus: [], error: "nvidia-smi not found" };
    return { gpus: [], error: err instanceof Error ? err.message : String(err) };
  }
}

/** Parses `nvidia-smi --format=csv,noheader,nounits` lines. */
export function parseNvidiaSmi(text: string): GpuReading[] {
  const num = (s: string | undefined) => {
    const n = Number(s?.trim());
    return s !== undefined && s.trim() !== "" && Number.isFinite(n) ? n : null;
  };
  return text.split("\n").filter((l) => l.trim()).map((line) => {
    const [index, name, util, used, total] = line.split(",");
    return {
      index: num(index) ?? 0,
      name: (name ?? "").trim(),
      utilizationPercent: num(util),
      memoryUsedMb: num(used),
      memoryTotalMb: num(total),
    };
  });
}
