/// <reference lib="deno.worker" />
/**
 * Worker script of a Pi assembly: holds one job's PiAssembly (its blocks, √10005 and power caches) and
 * runs its requests strictly one after another. Its helper is a split worker reached over the port that
 * comes with `open` (started by the same main thread that started this one, see split_worker.ts).
 */
import { PiAssembly } from "./assembly.ts";
import type { AssemblyReply, AssemblyRequest } from "./assembly_thread.ts";
import { PortTaskRunner } from "./task_port.ts";

let assembly: PiAssembly | undefined;
let queue: Promise<unknown> = Promise.resolve();

async function handle(request: AssemblyRequest): Promise<unknown> {
  switch (request.op) {
    case "open":
      assembly = new PiAssembly(request.job, request.helper ? new PortTaskRunner(request.helper) : undefined);
      return null;
    case "add":
      return await opened().add(request.fragment, request.splitAt, request.delta);
    case "flush":
      return opened().flush();
  }
}

function opened(): PiAssembly {
  if (!assembly) throw new Error("the assembly thread was not opened");
  return assembly;
}

self.onmessage = (event: MessageEvent<AssemblyRequest>) => {
  const request = event.data;
  queue = queue.then(() => handle(request)).then(
    (result) => self.postMessage({ id: request.id, ok: true, result } satisfies AssemblyReply),
    (e) =>
      self.postMessage(
        {
          id: request.id,
          ok: false,
          error: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
        } satisfies AssemblyReply,
      ),
  ).then(() => {
    // After the answer is on its way: work for the end that need not hold back the new digits.
    if (request.op === "add") assembly?.prepare();
  }).catch((e) =>
    console.error(`pi assembly: preparing the end failed: ${e instanceof Error ? e.message : e}`)
  );
};
