/**
 * Disk usage of file systems: total, used, free (for unprivileged users) and percent used, the
 * way `df` reports it. Read with an async `statfs`, so a slow mount does not stall the kernel.
 *
 * @module
 */
import { statfs } from "../../host/statfs.ts";
import { round } from "./cpu.ts";

/** Usage of the file system holding `path`. */
export interface VolumeUsage {
  path: string;
  totalBytes: number;
  usedBytes: number;
  /** Free for unprivileged users (what a job can write). */
  freeBytes: number;
  /** used / (used + free), like df. */
  percentUsed: number;
}

/** Usage of the file system holding `path`; throws where it cannot be read. */
export async function volumeUsage(path: string): Promise<VolumeUsage> {
  const fs = await statfs(path);
  const totalBytes = fs.blocks * fs.bsize;
  const usedBytes = (fs.blocks - fs.bfree) * fs.bsize;
  const freeBytes = fs.bavail * fs.bsize;
  const denominator = usedBytes + freeBytes;
  return {
    path,
    totalBytes,
    usedBytes,
    freeBytes,
    percentUsed: denominator > 0 ? round((usedBytes / denominator) * 100, 1) : 0,
  };
}

/** Usage of every path; a path that fails lands in `errors` with the reason. */
export async function volumesUsage(
  paths: string[],
): Promise<{ volumes: VolumeUsage[]; errors: Record<string, string> }> {
  const unique = [...new Set(paths)];
  const results = await Promise.allSettled(unique.map(volumeUsage));
  const volumes: VolumeUsage[] = [];
  const errors: Record<string, string> = {};
  const reasons = await Promise.all(
    results.map((r, i) => r.status === "rejected" ? unreadableReason(unique[i], r.reason) : null),
  );
  results.forEach((r, i) => {
    if (r.status === "fulfilled") volumes.push(r.value);
    else errors[unique[i]] = reasons[i]!;
  });
  return { volumes, errors };
}

/**
 * Why `path`'s file system could not be read: libc's statfs through FFI gives no errno, so the path
 * is looked up again, and the operating system's reason ("no such file or directory", "permission
 * denied", "not a directory") stands for it; else the statfs error's own message.
 */
async function unreadableReason(path: string, err: unknown): Promise<string> {
  try {
    await Deno.stat(path);
  } catch (statError) {
    if (statError instanceof Error) {
      // "No such file or directory (os error 2): stat '/data'" → "no such file or directory".
      const reason = statError.message.replace(/\s*\(os error \d+\)[\s\S]*$/, "").trim();
      if (reason) return reason.charAt(0).toLowerCase() + reason.slice(1);
    }
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * Mount points of device-backed file systems (not proc, sysfs, tmpfs, overlay and other `nodev`
 * types), one per device. Empty where /proc is missing.
 */
export async function deviceMountPoints(): Promise<string[]> {
  let mounts: string, filesystems: string;
  try {
    [mounts, filesystems] = await Promise.all([
      Deno.readTextFile("/proc/self/mounts"),
      Deno.readTextFile("/proc/filesystems"),
    ]);
  } catch {
    return [];
  }
  const virtual = new Set(
    filesystems.split("\n").filter((l) => l.startsWith("nodev")).map((l) => l.split(/\s+/)[1]),
  );
  const byDevice = new Map<string, string>();
  for (const line of mounts.split("\n")) {
    const [device, mountPoint, type] = line.split(" ");
    if (!device || !mountPoint || !type || virtual.has(type)) continue;
    // /proc/mounts escapes spaces and other specials as octal.
    const path = mountPoint.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
    if (!byDevice.has(device)) byDevice.set(device, path);
  }
  return [...byDevice.values()];
}
