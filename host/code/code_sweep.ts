/**
 * The code store's sweep: at the start and then every so often (a quarter of the retention, at
 * most an hour), deletes the stored modules that no agent of this host names and that nothing has
 * stored or used for `--code-retention` (CodeLoader.prune). A host that runs many edited scripts
 * keeps their modules while they run and a week after, not for ever. Each sweep that deletes
 * something emits `code-pruned`; a sweep that fails (it only saves space) waits for the next round.
 *
 * @module
 */
import { every, type Timer } from "../../agents/timers.ts";
import type { Host } from "../host.ts";

/** Sweeps now and then periodically; cancel the returned timer to stop. */
export function startCodeSweep(host: Host): Timer {
  const retentionMs = host.options.codeRetentionS * 1000;
  // One sweep at a time: a slow one is not joined by the next round's.
  let sweeping: Promise<void> | null = null;
  const sweep = () => {
    sweeping ??= (async () => {
      const referenced = await host.store.codeHashes();
      const removed = await host.code.prune(referenced, retentionMs);
      if (removed.length > 0) {
        host.events.emit("code-pruned", {
          data: { hashes: removed, retentionS: host.options.codeRetentionS },
        });
      }
    })().catch(() => {/* the next round */}).finally(() => sweeping = null);
  };
  sweep();
  return every(Math.min(3_600_000, retentionMs / 4), sweep, { ref: false });
}
