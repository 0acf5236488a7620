/**
 * How the CLI shows a campaign: a compact table (status counts, then one row per host with its
 * jobs by status) for a terminal, redrawn in place; one line per job change when the output is not
 * a terminal.
 *
 * @module
 */
import { renderTable as tableText } from "../../cli/table.ts";
import { ANALYSIS_STATUSES, type CampaignSummary } from "./operations.ts";

const ORDER = ANALYSIS_STATUSES;
const SHORT: Record<string, string> = {
  NEW: "new",
  RUNNING: "running",
  WAITING_FOR_HOME: "waiting",
  RETURNING_HOME: "returning",
  COMMITTING: "committing",
  COMMITTED: "committed",
  FAILED_FINAL: "failed",
};

/** Status counts per host, and a total line. */
export function renderTable(s: CampaignSummary): string {
  const elapsed = s.startedAt ? ((Date.now() - s.startedAt) / 1000).toFixed(0) : "0";
  const rows: string[][] = [];
  const hosts = new Map<string, Record<string, number>>();
  for (const j of s.jobs) {
    // A job still waiting for a slot shows its scheduling state on its host.
    const row = hosts.get(j.host) ?? {};
    row[j.status] = (row[j.status] ?? 0) + 1;
    hosts.set(j.host, row);
  }
  for (const [host, row] of [...hosts].sort(([a], [b]) => a.localeCompare(b))) {
    rows.push([host, ...ORDER.map((k) => row[k] ? String(row[k]) : "")]);
  }
  rows.push(["total", ...ORDER.map((k) => s.counts[k] ? String(s.counts[k]) : "")]);
  const done = (s.counts.COMMITTED ?? 0) + (s.counts.FAILED_FINAL ?? 0);
  return `campaign ${s.campaignId} · ${done}/${s.tasks} jobs done · ${elapsed} s\n${
    tableText(["host", ...ORDER.map((k) => SHORT[k])], rows)
  }`;
}

/** Lines for the job changes since the last call (`seen` remembers what was shown). */
export function renderLines(s: CampaignSummary, seen: Map<string, string>): string[] {
  const lines: string[] = [];
  for (const j of s.jobs) {
    const key = `${j.status}|${j.host}`;
    if (seen.get(j.jobId) === key) continue;
    seen.set(j.jobId, key);
    const extra = j.status === "FAILED_FINAL" && j.error
      ? `: ${j.error}`
      : j.accuracy !== null && j.status === "COMMITTED"
      ? ` (accuracy ${(j.accuracy * 100).toFixed(2)} %)`
      : "";
    lines.push(`${j.jobId} ${j.status} on ${j.host}${extra}`);
  }
  return lines;
}
