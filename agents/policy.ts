/** When and how an inactive paglet comes back. */
export interface DeactivationPolicy {
  /** Epoch milliseconds at which the host activates the paglet again; null = never by time. */
  activateAt: number | null;
  /** A message to the inactive paglet activates it. @default true */
  activateOnMessage: boolean;
  /** Messages to the inactive paglet are stored and delivered after activation. @default true */
  queueMessagesWhenInactive: boolean;
  /** The paglet is activated when its host starts. @default false */
  activateOnStartup: boolean;
}

/** The latest wake-up a policy takes: 100 years ahead (`after`, `afterSeconds`). */
export const MAX_WAKE_SECONDS = 100 * 365 * 86_400;
/** The latest moment a Date holds, in epoch milliseconds. */
const MAX_EPOCH_MS = 8.64e15;

export const DEFAULT_POLICY: Readonly<DeactivationPolicy> = Object.freeze({
  activateAt: null,
  activateOnMessage: true,
  queueMessagesWhenInactive: true,
  activateOnStartup: false,
});

/** Builds a policy from partial options; unknown keys are dropped, wrong types fail at once. */
export function deactivationPolicy(options: Partial<DeactivationPolicy> = {}): DeactivationPolicy {
  const policy: DeactivationPolicy = { ...DEFAULT_POLICY };
  const activateAt = options.activateAt ?? null;
  if (
    activateAt !== null &&
    (typeof activateAt !== "number" || !(activateAt >= 0 && activateAt <= MAX_EPOCH_MS))
  ) {
    throw new RangeError(`'activateAt' must be epoch milliseconds or null: current value is ${activateAt}`);
  }
  policy.activateAt = activateAt;
  for (const flag of ["activateOnMessage", "queueMessagesWhenInactive", "activateOnStartup"] as const) {
    const value = options[flag];
    if (value === undefined) continue;
    if (typeof value !== "boolean") {
      throw new TypeError(`'${flag}' must be true or false: current value is ${JSON.stringify(value)}`);
    }
    policy[flag] = value;
  }
  return policy;
}

/**
 * A policy that wakes the paglet after `seconds`.
 * @example
 * ```ts
 * await this.context.deactivate(after(300, { activateOnMessage: true }));
 * ```
 */
export function after(seconds: number, options: Partial<DeactivationPolicy> = {}): DeactivationPolicy {
  if (!(seconds >= 0 && seconds <= MAX_WAKE_SECONDS)) {
    throw new RangeError(
      `'seconds' must be a number from 0 to ${MAX_WAKE_SECONDS}: current value is ${seconds}`,
    );
  }
  return deactivationPolicy({ ...options, activateAt: Date.now() + seconds * 1000 });
}
