/** Runs the `paglets` CLI (main.ts) as a real subprocess, as a user would. */
import { assertEquals } from "./assert.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The command for `paglets ...args`; spawn it for long-running commands such as `follow`. */
export function pagletsCommand(
  args: string[],
  env: Record<string, string> = {},
  signal?: AbortSignal,
  stdin: "null" | "piped" = "null",
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", "--config", CONFIG, MAIN, ...args],
    env: { NO_COLOR: "1", PAGLETS_ENTRY: "", PAGLETS_API_KEY: "", ...env },
    stdin,
    stdout: "piped",
    stderr: "piped",
    signal: signal ?? AbortSignal.timeout(120_000),
  });
}

/** Runs `paglets ...args` to completion (bounded: 120 s). */
export async function paglets(
  args: string[],
  env: Record<string, string> = {},
  stdin?: string,
): Promise<CliRun> {
  let out: Deno.CommandOutput;
  if (stdin === undefined) out = await pagletsCommand(args, env).output();
  else {
    const child = pagletsCommand(args, env, undefined, "piped").spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
    out = await child.output();
  }
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** The JSON a successful run printed (asserts exit 0). */
export function jsonOf<T = Record<string, unknown>>(run: CliRun): T {
  assertEquals(run.code, 0, `exit ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** Whether util-linux `script` is there to give the CLI a terminal ({@link onTerminal}). */
export const HAS_SCRIPT = await new Deno.Command("script", {
  args: ["--version"],
  stdout: "null",
  stderr: "null",
})
  .output().then((o) => o.success, () => false);

/**
 * Runs `paglets ...args` with a terminal for stdin, stdout and stderr (util-linux `script`;
 * bounded: 120 s): its exit code and what it showed on that terminal, stdout and stderr alike.
 */
export async function onTerminal(args: string[]): Promise<{ code: number; screen: string }> {
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const line = [Deno.execPath(), "run", "--allow-all", "--quiet", "--config", CONFIG, MAIN, ...args]
    .map(quote).join(" ");
  const out = await new Deno.Command("script", {
    args: ["-q", "-e", "-c", line, "/dev/null"],
    env: { NO_COLOR: "1", PAGLETS_ENTRY: "", PAGLETS_API_KEY: "" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  return { code: out.code, screen: new TextDecoder().decode(out.stdout) };
}
