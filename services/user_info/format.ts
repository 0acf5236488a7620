/**
 * How `paglets follow` prints a notification, in the original's format:
 * `[YYYY-mm-dd HH:MM:SS] SEVERITY: title job=.. source=..: message`.
 *
 * @module
 */
import type { Notification } from "./contract.ts";
import { localTime } from "../../cli/times.ts";

/**
 * One line per notification; `job=` and `source=` only when known, `: message` only when there is
 * a message.
 *
 * @example
 * ```ts
 * formatNotification({ id: 1, at: Date.now(), severity: "warning", title: "Disk low", text: "5% left",
 *   fields: {}, sourceAgentId: "ag_1", jobId: "j-7", hostName: "a" });
 * // → "[2025-01-02 03:04:05] WARNING: Disk low job=j-7 source=ag_1: 5% left"
 * ```
 */
export function formatNotification(
  n: Pick<Notification, "at" | "severity" | "title" | "text" | "jobId" | "sourceAgentId">,
): string {
  let line = `[${localTime(n.at)}] ${n.severity.toUpperCase()}: ${n.title}`;
  if (n.jobId) line += ` job=${n.jobId}`;
  if (n.sourceAgentId) line += ` source=${n.sourceAgentId}`;
  if (n.text) line += `: ${n.text}`;
  return line;
}
