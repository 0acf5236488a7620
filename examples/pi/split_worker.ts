/// <reference lib="deno.worker" />
/**
 * Worker script of the Pi engine: runs one task per message (binary splitting of a term range, the right
 * half's ratio, a decimal conversion, warming the power cache) and posts the result back. Its only state is
 * the per-thread power cache of decimal.ts, which is why callers may pin related tasks to one worker.
 */
import { runTask, type TaskReply, type TaskRequest } from "./tasks.ts";

self.onmessage = (event: MessageEvent<TaskRequest>) => {
  const { id, task } = event.data;
  let reply: TaskReply;
  try {
    reply = { id, ok: true, result: runTask(task) };
  } catch (e) {
    reply = { id, ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
  self.postMessage(reply);
};
