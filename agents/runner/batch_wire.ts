/**
 * A batch of tasks as it travels to an executor: column by column (export names, ids, arguments),
 * the values of settled argument futures inlined, and a reference (`{$runnerFuture: id}`) for a
 * future whose result the receiving executor computes or keeps, so that value never travels
 * through the client.
 *
 * @module
 */
import { isFutureRef } from "./batch_step.ts";
import type { CodeRef } from "./code_ref.ts";
import type { BatchMessage } from "./executor.ts";
import { RunnerFuture } from "./future.ts";
import type { Task } from "./task.ts";

/** Encodes `batch` (sent as batch number `batch[0].seq`); `keptThere(id)`: the receiver has that result. */
export function encodeBatch(batch: Task[], code: CodeRef, keptThere: (id: number) => boolean): BatchMessage {
  const names: string[] = [];
  const fns: number[] = [];
  const refs: number[] = [];
  const args: unknown[][] = [];
  for (let i = 0; i < batch.length; i++) {
    const task = batch[i];
    let fn = names.indexOf(task.exportName);
    if (fn < 0) fn = names.push(task.exportName) - 1;
    fns.push(fn);
    if (task.deps.length === 0) {
      args.push(task.args);
      continue;
    }
    let hasRefs = false;
    const encode = (value: unknown): unknown => {
      if (value instanceof RunnerFuture) {
        const here = !task.inline && keptThere(value.id);
        if (value.status === "fulfilled" && !here) return value.value;
        hasRefs = true;
        return { $runnerFuture: value.id };
      }
      if (Array.isArray(value)) return value.map(encode);
      if (
        value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype
      ) {
        if (isFutureRef(value)) throw new TypeError("'$runnerFuture' is reserved in task arguments");
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]));
      }
      return value;
    };
    args.push(task.args.map(encode));
    if (hasRefs) refs.push(i);
  }
  const wire: BatchMessage = {
    seq: batch[0].seq!,
    code,
    names,
    ids: batch.map((t) => t.future.id),
    args,
  };
  if (names.length > 1) wire.fns = fns;
  if (refs.length > 0) wire.refs = refs;
  const timeoutMs = batch.length === 1 ? batch[0].timeoutMs : 0;
  return timeoutMs ? { ...wire, timeoutMs } : wire;
}
