/**
 * Numbers for people: `1234567` → `"1,234,567"`. Not `toLocaleString`, whose first call loads the
 * ICU number data (~15 ms, measured), in every thread that formats, at start-up.
 *
 * @module
 */

/** An integer with commas between groups of three digits. */
export function groupThousands(n: number): string {
  const sign = n < 0 ? "-" : "";
  const digits = String(Math.trunc(Math.abs(n)));
  return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}
