/**
 * Tuning of the slot scheduler, validated once and frozen.
 *
 * @module
 */
import type { HostSample } from "./host_status.ts";
import type { Lease } from "./lease_table.ts";

/** Options of `SlotScheduler`. */
export interface SlotSchedulerOptions {
  /** The first resource sample of the local host. */
  host: HostSample;
  /** Clock in epoch ms; the scheduler has no timers of its own. @default Date.now */
  now?: () => number;
  /** Grants in one pass at most. @default 4 */
  maxGrantsPerPass?: number;
  /**
   * Grants after the first one in a pass (and direct grants on a host that
   * already has reservations) need the projected load per CPU below this.
   * @default 1.0
   */
  burstLoadPerCpu?: number;
  /** Work-stealing redirects in one pass at most. @default 4 */
  maxRedirectsPerPass?: number;
  /** Share of the queue one pass may redirect. @default 0.5 */
  maxRedirectFraction?: number;
  /** A request redirected less than this long ago is not redirected again. @default 60_000 */
  redirectCooldownMs?: number;
  /** Peer statuses older than this are ignored. @default 20_000 */
  peerMaxAgeMs?: number;
  /** Active leases at most; 0 means no limit beyond CPU ids. @default 0 */
  maxActiveLeases?: number;
  /** Extension of an expired lease whose agent is still alive. @default 300_000 */
  leaseExtensionMs?: number;
  /** Finished jobs kept in the usage history. @default 100 */
  usageHistoryLimit?: number;
  /** Whether a lease's agent is still alive (active or running here). @default () => true */
  isAgentAlive?: (lease: Lease) => boolean;
  /** Lease id factory. @default `slot-<16 hex>` */
  newLeaseId?: () => string;
}

/** Options with every default applied. */
export type SchedulerConfig = Readonly<Required<Omit<SlotSchedulerOptions, "host" | "newLeaseId">>> & {
  readonly newLeaseId?: () => string;
};

/** Applies defaults and fails at once, naming the value, on nonsense. */
export function schedulerConfig(options: SlotSchedulerOptions): SchedulerConfig {
  const {
    now = Date.now,
    maxGrantsPerPass = 4,
    burstLoadPerCpu = 1.0,
    maxRedirectsPerPass = 4,
    maxRedirectFraction = 0.5,
    redirectCooldownMs = 60_000,
    peerMaxAgeMs = 20_000,
    maxActiveLeases = 0,
    leaseExtensionMs = 300_000,
    usageHistoryLimit = 100,
    isAgentAlive = () => true,
    newLeaseId,
  } = options;
  requireAtLeast("maxGrantsPerPass", maxGrantsPerPass, 1, true);
  requireAtLeast("burstLoadPerCpu", burstLoadPerCpu, 0, false);
  requireAtLeast("maxRedirectsPerPass", maxRedirectsPerPass, 0, true);
  requireAtLeast("maxRedirectFraction", maxRedirectFraction, 0, false);
  requireAtLeast("redirectCooldownMs", redirectCooldownMs, 0, false);
  requireAtLeast("peerMaxAgeMs", peerMaxAgeMs, 0, false);
  requireAtLeast("maxActiveLeases", maxActiveLeases, 0, true);
  requireAtLeast("leaseExtensionMs", leaseExtensionMs, 1, false);
  requireAtLeast("usageHistoryLimit", usageHistoryLimit, 0, true);
  return Object.freeze({
    now,
    maxGrantsPerPass,
    burstLoadPerCpu,
    maxRedirectsPerPass,
    maxRedirectFraction,
    redirectCooldownMs,
    peerMaxAgeMs,
    maxActiveLeases,
    leaseExtensionMs,
    usageHistoryLimit,
    isAgentAlive,
    newLeaseId,
  });
}

function requireAtLeast(name: string, value: number, min: number, integer: boolean): void {
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new RangeError(
      `Cannot create scheduler as '${name}' must be ${integer ? "an integer" : "a number"} >= ${min}: ` +
        `current value is ${value}`,
    );
  }
}

/**
 * How many waiters one pass may send to peers: never the last local waiter
 * unless it is the only one (the local anchor), at most a fraction of the
 * queue, at most a fixed count.
 */
export function redirectBudget(queueLength: number, fraction: number, max: number): number {
  if (queueLength <= 0) return 0;
  const anchorLimit = queueLength === 1 ? 1 : queueLength - 1;
  return Math.max(0, Math.min(anchorLimit, Math.ceil(queueLength * fraction), max));
}
