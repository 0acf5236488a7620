/// <reference lib="deno.worker" />
/**
 * Worker script of the Pi engine: runs one task per message (binary splitting of a term range, the right
 * half's ratio, a decimal conversion, warming the power cache) and posts the result back. Its only state is
 * the per-thread power cache of decimal.ts and kept ratios (by key), which is why callers may pin related tasks to
 * one worker.
 *
 * Tasks come from whoever created the worker, or over a MessagePort handed to it in a `{ port }` message:
 * that is how an assembly gets a helper (Deno 2.9 starts a worker created inside another worker ~0.5 s
 * late, so every thread is started from the main thread). A `{ port, serves: "assembly" }` message
 * brings the port of an assembly this worker then holds (assembly_server.ts), between its tasks.
 */
import { eligibleCpuIds, pinCurrentThread, readCpusAllowedList } from "../../host/compute/affinity.ts";
import { type Arithmetic, type PortGrant, runTask, type TaskReply, type TaskRequest } from "./tasks.ts";
import { serveAssembly } from "./assembly_server.ts";
import { failedReply } from "./replies.ts";
import { gmpEngine } from "./gmp_engine.ts";

/**
 * A task under a lease runs pinned to the lease's CPU ids, and answers with the CPUs the kernel then
 * allows the thread (`observedCpus`), so the caller can tell a lease from an enforced one.
 */
function serve(request: TaskRequest, reply: (r: TaskReply) => void): void {
  const { id, task, cpuIds } = request;
  let answer: TaskReply;

  try {
    if (cpuIds) {
      const pinned = pinCurrentThread(cpuIds);
      if (pinned.supported && !pinned.enforced) throw new Error(`cannot pin the Pi thread: ${pinned.error}`);
    }
    const result = runTask(task);
    answer = cpuIds
      ? { id, ok: true, result, observedCpus: readCpusAllowedList(), arithmetic }
      : { id, ok: true, result, arithmetic };
    // The lease ends with the task: later tasks (unleased helpers) are not held to its cores.
    if (cpuIds) pinCurrentThread(eligibleCpuIds());
  } catch (e) {
    answer = failedReply(id, e);
  }
  reply(answer);
}

// libgmp loads (~5-8 ms) with this script, before the first task comes: not on that task's time.
const arithmetic: Arithmetic = gmpEngine() ? "gmp" : "bigint";

self.onmessage = (event: MessageEvent<TaskRequest | PortGrant>) => {
  const data = event.data;
  if ("port" in data) {
    const port = data.port;
    if (data.serves === "assembly") return serveAssembly(port);
    port.onmessage = (e: MessageEvent<TaskRequest>) => serve(e.data, (r) => port.postMessage(r));
    port.start();
    return;
  }
  serve(data, (r) => self.postMessage(r));
};
