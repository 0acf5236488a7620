/**
 * How tables show times, one way everywhere: a moment as the local time of the machine running
 * the command (`2026-12-07 03:22:44`), a span as `3d 4h`, `5h 6m`, `7m 8s`, and the time since a
 * moment as that span (`ago` adds " ago"). `--json` keeps the raw values (epoch milliseconds).
 *
 * @module
 */

/** Seconds as `3d 4h`, `5h 6m`, `7m 8s`, `9s`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** A moment (epoch ms) as local time `YYYY-mm-dd HH:MM:SS`; "" when there is none. */
export function localTime(epochMs: number | null | undefined): string {
  if (!epochMs || !Number.isFinite(epochMs)) return "";
  const d = new Date(epochMs);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${
    p(d.getMinutes())
  }:${p(d.getSeconds())}`;
}

/** The time since a moment (epoch ms) as a span, e.g. `7m 8s`; "-" when there is none. */
export function elapsedSince(epochMs: number | null | undefined, now = Date.now()): string {
  return epochMs && epochMs > 0 ? formatDuration((now - epochMs) / 1000) : "-";
}

/** The time since a moment as `7m 8s ago`; "-" when there is none. */
export function ago(epochMs: number | null | undefined, now = Date.now()): string {
  const span = elapsedSince(epochMs, now);
  return span === "-" ? span : `${span} ago`;
}
