/**
 * Reference digits for the Pi tests from Debian's `pi` program (CLN's implementation), an independent
 * source. `pi N` prints N digits as "3.1415…"; this returns them without the point, so position 0 is "3".
 * A missing program is an error, never a skipped check.
 */
const cache = new Map<number, string>();

export async function referencePi(n: number): Promise<string> {
  const hit = cache.get(n);
  if (hit) return hit;
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("pi", { args: [String(n)], stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        "Debian's `pi` program is missing (apt-get install -y pi); the Pi tests need it as reference",
      );
    }
    throw e;
  }
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success || !text.startsWith("3.")) {
    throw new Error(`\`pi ${n}\` failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  const digits = "3" + text.slice(2);
  if (digits.length !== n) throw new Error(`\`pi ${n}\` printed ${digits.length} digits`);
  cache.set(n, digits);
  return digits;
}
