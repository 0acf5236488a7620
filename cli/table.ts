/**
 * Tables for people: box-drawn, a heading row, cells that may span several lines (see output.ts
 * `wrap`). Widths count what a terminal shows (colour codes take no room).
 *
 * @module
 */

/** The columns' headings (already styled, if at all) and the rows' cells, as text. */
export function renderTable(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(shownWidth(h), ...rows.map((r) => cellWidth(r[i] ?? ""))));
  const rule = (left: string, mid: string, right: string) =>
    left + widths.map((w) => "─".repeat(w + 2)).join(mid) + right;
  const line = (cells: string[]) => {
    const split = cells.map((c) => c.split("\n"));
    const height = Math.max(1, ...split.map((lines) => lines.length));
    return Array.from(
      { length: height },
      (_, k) => "│" + widths.map((w, i) => ` ${pad(split[i]?.[k] ?? "", w)} `).join("│") + "│",
    ).join("\n");
  };
  return [rule("┌", "┬", "┐"), line(head), rule("├", "┼", "┤"), ...rows.map(line), rule("└", "┴", "┘")]
    .join("\n");
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

function shownWidth(text: string): number {
  return text.replace(ANSI, "").length;
}

function cellWidth(cell: string): number {
  return Math.max(...cell.split("\n").map(shownWidth));
}

function pad(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - shownWidth(text)));
}
