/**
 * Starts a process that prints a JSON line with its `url` on stdout once it listens (`paglets host
 * --json`, the bare echo server of the benchmarks) and reads that URL; stdout is drained afterwards
 * so the child never blocks on a full pipe. Used by scripts/soak.ts, the benchmarks and the tests'
 * host processes ({@link firstJsonLine}).
 */
import { orAfter } from "../agents/timers.ts";

export interface SpawnedServer {
  child: Deno.ChildProcess;
  url: string;
}

/** Spawns `cmd args` and waits (bounded by `timeoutMs`) for the URL it prints; kills it on failure. */
export async function spawnPrintingUrl(
  cmd: string,
  args: string[],
  { timeoutMs = 30_000, stderr = "null" }: { timeoutMs?: number; stderr?: "null" | "inherit" } = {},
): Promise<SpawnedServer> {
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr, stdin: "null" }).spawn();
  const printed = await firstJsonLine(child.stdout, timeoutMs);
  if (printed) return { child, url: printed.url as string };
  try {
    child.kill("SIGKILL");
  } catch { /* already gone */ }
  await child.status;
  throw new Error(`${cmd} ${args.join(" ")} printed no URL within ${timeoutMs} ms`);
}

/**
 * The first complete line of `stdout` that starts with "{", parsed; null when the stream ends or
 * `timeoutMs` passes first. The deadline bounds each read too, so a child that prints nothing
 * cannot hang the caller, and only complete lines count (a line may arrive in several pieces). The
 * rest of the stream is drained in the background: the child never blocks on a full pipe.
 */
export async function firstJsonLine(
  stdout: ReadableStream<Uint8Array>,
  timeoutMs: number,
): Promise<Record<string, unknown> | null> {
  const reader = stdout.pipeThrough(new TextDecoderStream()).getReader();
  const deadline = Date.now() + timeoutMs;
  let text = "";
  let found: Record<string, unknown> | null = null;
  while (!found && Date.now() < deadline) {
    const read = await orAfter(reader.read(), Math.max(1, deadline - Date.now()), null);
    if (read === null || read.done) break;
    text += read.value;
    const line = text.split("\n").slice(0, -1).find((l) => l.startsWith("{"));
    if (line) found = JSON.parse(line);
  }
  void (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {/* the process went away */});
  return found;
}
