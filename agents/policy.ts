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
  if (activateAt !== null && (typeof activateAt !== "number" || !Number.isFinite(activateAt))) {
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
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new RangeError(`'seconds' must be a non-negative number: current value is ${seconds}`);
  }
  return deactivationPolicy({ ...options, activateAt: Date.now() + seconds * 1000 });
}
