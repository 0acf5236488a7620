/**
 * Target selection over mesh snapshots: filter hosts by freshness, exclusions, tags and limits,
 * then rank the rest by free capacity. Pure: no clock, no I/O.
 *
 * Unlike the Python original, `maxLoadPerCpu` and `maxCpuPercent` are applied, and there is no
 * silent fallback to overloaded hosts: every rejected host is listed with its reasons, so a
 * caller that wants a fallback (the Pi coordinator does) decides that itself.
 *
 * @module
 */
import type {
  MeshSnapshot,
  Rejection,
  SelectTargetsReply,
  SelectTargetsRequest,
  Target,
} from "./contract.ts";

/** What {@link selectTargets} needs besides the request. */
export interface SelectionContext {
  /** Epoch ms "now". */
  now: number;
  /** URL of the host selecting (for `includeSelf` and `self`). */
  selfUrl: string;
  /** Age limit when the request's `maxAgeSeconds` is 0. */
  defaultMaxAgeMs: number;
  /** URLs of online hosts; when given, snapshots of other hosts are rejected as offline. */
  online?: ReadonlySet<string>;
}

/** Score bonus (lower is better) for each preferred tag a host carries. */
export const PREFERRED_TAG_BONUS = 0.25;

/** How many more CPU-bound tasks fit under `maxLoadPerCpu`. */
export function freeSlots(snapshot: Pick<MeshSnapshot, "cpuCount" | "load1">, maxLoadPerCpu: number): number {
  return Math.max(0, Math.floor(snapshot.cpuCount * maxLoadPerCpu - snapshot.load1));
}

/**
 * Pressure of a host, lower is better: load per CPU + CPU busy share + memory used share + work
 * disk used share (unknown CPU counts as half busy; unknown memory or disk as full), minus
 * {@link PREFERRED_TAG_BONUS} per preferred tag.
 */
export function pressureScore(s: MeshSnapshot, preferredMatched: number): number {
  const cpu = s.cpuPercent === null ? 0.5 : s.cpuPercent / 100;
  const memory = s.memoryTotalBytes > 0 ? s.memoryPercent / 100 : 1;
  const disk = s.workTotalBytes > 0 ? s.workPercentUsed / 100 : 1;
  const score = Math.max(0, s.loadPerCpu) + cpu + memory + disk - PREFERRED_TAG_BONUS * preferredMatched;
  return Math.round(score * 10_000) / 10_000;
}

/**
 * Ranks eligible hosts best first and lists the others with why they were rejected.
 *
 * @example
 * ```ts
 * const reply = selectTargets(snapshots, SelectTargetsRequest.parse({ maxLoadPerCpu: 0.75 }), {
 *   now: Date.now(), selfUrl: "http://127.0.0.1:8765", defaultMaxAgeMs: 20_000,
 * });
 * for (const t of reply.targets) console.log(t.hostName, t.freeSlots);
 * ```
 */
export function selectTargets(
  snapshots: Iterable<MeshSnapshot>,
  request: SelectTargetsRequest,
  context: SelectionContext,
): SelectTargetsReply {
  const maxAgeMs = request.maxAgeSeconds > 0 ? request.maxAgeSeconds * 1000 : context.defaultMaxAgeMs;
  const lower = (tags: string[]) => tags.map((t) => t.trim().toLowerCase());
  const required = lower(request.requiredTags);
  const excludedTags = lower(request.excludedTags);
  const preferred = lower(request.preferredTags);
  const excludedHosts = new Set(request.excludeHosts.map(trimUrl));
  const targets: Target[] = [];
  const rejected: Rejection[] = [];

  for (const s of snapshots) {
    const reasons: string[] = [];
    const self = trimUrl(s.hostUrl) === trimUrl(context.selfUrl);
    const tags = new Set(lower(s.tags));
    const age = context.now - s.observedAt;
    if (excludedHosts.has(s.hostName) || excludedHosts.has(trimUrl(s.hostUrl))) reasons.push("excluded host");
    if (self && !request.includeSelf) reasons.push("self excluded");
    if (!self && context.online && !context.online.has(trimUrl(s.hostUrl))) reasons.push("offline");
    if (age > maxAgeMs) {
      reasons.push(`stale: observed ${Math.round(age / 1000)} s ago (max ${Math.round(maxAgeMs / 1000)} s)`);
    }
    if (s.errors.length) reasons.push(`snapshot errors: ${s.errors.join("; ")}`);
    for (const tag of required) if (!tags.has(tag)) reasons.push(`missing tag ${tag}`);
    for (const tag of excludedTags) if (tags.has(tag)) reasons.push(`excluded tag ${tag}`);
    if (s.loadPerCpu > request.maxLoadPerCpu) {
      reasons.push(`load per cpu ${s.loadPerCpu.toFixed(2)} > ${request.maxLoadPerCpu}`);
    }
    if (s.cpuPercent !== null && s.cpuPercent > request.maxCpuPercent) {
      reasons.push(`cpu ${s.cpuPercent.toFixed(1)}% > ${request.maxCpuPercent}%`);
    }
    if (s.memoryAvailableBytes < request.minMemoryAvailableBytes) {
      reasons.push(
        `memory available ${gib(s.memoryAvailableBytes)} < ${gib(request.minMemoryAvailableBytes)}`,
      );
    }
    if (s.workFreeBytes < request.minWorkFreeBytes) {
      reasons.push(`work disk free ${gib(s.workFreeBytes)} < ${gib(request.minWorkFreeBytes)}`);
    }
    if (reasons.length) {
      rejected.push({ hostName: s.hostName, hostUrl: s.hostUrl, reasons });
      continue;
    }
    const preferredTagsMatched = preferred.filter((t) => tags.has(t));
    targets.push({
      hostName: s.hostName,
      hostUrl: s.hostUrl,
      score: pressureScore(s, preferredTagsMatched.length),
      freeSlots: freeSlots(s, request.maxLoadPerCpu),
      cpuCount: s.cpuCount,
      load1: s.load1,
      loadPerCpu: s.loadPerCpu,
      cpuPercent: s.cpuPercent,
      memoryAvailableBytes: s.memoryAvailableBytes,
      memoryPercent: s.memoryPercent,
      workFreeBytes: s.workFreeBytes,
      workPercentUsed: s.workPercentUsed,
      tags: s.tags,
      preferredTagsMatched,
      self,
      observedAt: s.observedAt,
    });
  }

  targets.sort((a, b) =>
    a.score - b.score || b.freeSlots - a.freeSlots || a.hostName.localeCompare(b.hostName) ||
    a.hostUrl.localeCompare(b.hostUrl)
  );
  rejected.sort((a, b) => a.hostName.localeCompare(b.hostName) || a.hostUrl.localeCompare(b.hostUrl));
  return {
    generatedAt: context.now,
    targets: request.limit > 0 ? targets.slice(0, request.limit) : targets,
    rejected,
    errors: {},
  };
}

function trimUrl(url: string): string {
  return url.trim().replace(/\/+$/, "");
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
