/**
 * Movement as a host extension: dispatch, clone and retract of paglets between hosts, with
 * registered files. It adds the context operations `dispatch`, `clone`, `retract`,
 * `registerFile`, `unregisterFile` and `filePath`, the routes of {@link movementRoutes}, and at
 * start settles transfers a crash left open.
 *
 * @example
 * ```ts
 * import { Host } from "../host.ts";
 * import { mobilityExtension } from "./mod.ts";
 * const host = await Host.start({ name: "a", port: 0 }, [mobilityExtension()]);
 * ```
 */
import type { Hono } from "hono";
import type { Host, HostExtension } from "../host.ts";
import { RegisteredFiles, type RegisterOptions } from "../storage/files/registered_files.ts";
import { TransferDispatcher } from "./dispatcher.ts";
import { TransferReceiver } from "./receiver.ts";
import { movementRoutes } from "./routes.ts";
import { TransferLedger } from "./transfer_ledger.ts";
import { clockMarginFromEnv } from "./forgotten_transfers.ts";
import { sendPolicyFromEnv, TransferSender } from "./transfer_sender.ts";
import { cancel, every, type Timer } from "../../agents/timers.ts";

export { TransferDispatcher } from "./dispatcher.ts";
export type { DispatchOptions } from "./dispatcher.ts";
export { TransferReceiver } from "./receiver.ts";
export type { TransferAck } from "./receiver.ts";
export type { ArrivalMode, TransferEnvelope, TransferKind } from "./envelope.ts";

/** Forwarding records kept at most, newest first (a bound on the database under heavy churn). */
const MAX_FORWARDING_RECORDS = 100_000;

/** The movement extension; its parts exist once the host has started. */
export class MobilityExtension implements HostExtension {
  readonly name = "mobility";
  ledger!: TransferLedger;
  files!: RegisteredFiles;
  receiver!: TransferReceiver;
  dispatcher!: TransferDispatcher;
  #pruneTimer: Timer | undefined;

  routes(app: Hono, host: Host): void {
    movementRoutes(app, host, () => this);
  }

  async start(host: Host): Promise<void> {
    const ledger = this.ledger = new TransferLedger(host.store, { clockMarginMs: clockMarginFromEnv() });
    const files = this.files = new RegisteredFiles(host);
    const receiver = this.receiver = new TransferReceiver(host, ledger, files);
    const sender = new TransferSender(host.options.apiKey, sendPolicyFromEnv());
    const dispatcher = this.dispatcher = new TransferDispatcher(host, ledger, files, receiver, sender);
    sender.onOutcome = (outcome, bytes) => {
      host.metrics.transfers.inc({ direction: "out", outcome });
      if (outcome !== "refused") host.metrics.transferBytes.inc({ direction: "out" }, bytes);
    };
    sender.onRetry = (url, transferId, attempt, error) =>
      host.events.emit("transfer-retry", {
        data: { target: url, transferId, attempt },
        error: error.message,
      });

    host.ops.registerAll({
      dispatch: (from: string, target: string) => dispatcher.dispatch(from, target, { fromSelf: true }),
      clone: (from: string, target: string | null) => dispatcher.clone(from, target),
      retract: (_from: string, agentId: string, fromHost: string) => dispatcher.retract(agentId, fromHost),
      registerFile: async (from: string, path: string, options: RegisterOptions) => {
        const entry = await files.register(from, path, options ?? {});
        return { name: entry.name, size: entry.size, sha256: entry.sha256, mode: entry.mode };
      },
      unregisterFile: (from: string, name: string) => files.unregister(from, name),
      filePath: (from: string, name: string) => files.filePath(from, name),
    });

    host.runtime.departureOf = (agentId) => {
      const row = ledger.unsettledDepartureOf(agentId);
      return row && {
        transferId: row.transferId,
        target: row.peer,
        targetName: row.peerName,
        status: row.status === "expired" ? "expired" : "pending",
        departedAt: row.createdAt,
      };
    };
    await receiver.recover();
    dispatcher.startResolver();
    // Settled ledger rows (retries and late questions find them) and forwarding records last
    // --forwarding-retention; pruning only saves space, so a failure waits for the next round.
    const retentionMs = host.options.forwardingRetentionS * 1000;
    // One prune at a time: a long one (a large backlog) is not joined by the next round's.
    let pruning: Promise<unknown> | null = null;
    const prune = () => {
      pruning ??= Promise.all([
        ledger.prune(retentionMs),
        host.store.pruneMoves(Date.now() - retentionMs, MAX_FORWARDING_RECORDS),
      ]).catch(() => {}).finally(() => pruning = null);
    };
    prune();
    this.#pruneTimer = every(Math.min(3600_000, Math.max(1000, retentionMs / 4)), prune, { ref: false });
  }

  stop(): void {
    cancel(this.#pruneTimer);
    this.dispatcher?.stop();
  }
}

/** Creates the movement extension (one per host). */
export function mobilityExtension(): MobilityExtension {
  return new MobilityExtension();
}
