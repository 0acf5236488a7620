/**
 * Starts a process that prints a JSON line with its `url` on stdout once it listens (`paglets host
 * --json`, the bare echo server of the benchmarks) and reads that URL; stdout is drained afterwards
 * so the child never blocks on a full pipe. Used by scripts/soak.ts and the benchmarks.
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
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // The deadline also bounds a read: a child that prints nothing must not hang the caller.
    const read = await orAfter(reader.read(), deadline - Date.now(), null);
    if (read === null || read.done) break;
    text += read.value;
    // Complete lines only: a JSON line may arrive in several pieces.
    const line = text.split("\n").slice(0, -1).find((l) => l.startsWith("{"));
    if (line) {
      void (async () => {
        while (!(await reader.read()).done) { /* drain */ }
      })().catch(() => {/* the process went away */});
      return { child, url: JSON.parse(line).url as string };
    }
  }
  try {
    child.kill("SIGKILL");
  } catch { /* already gone */ }
  await child.status;
  throw new Error(`${cmd} ${args.join(" ")} printed no URL within ${timeoutMs} ms`);
}
