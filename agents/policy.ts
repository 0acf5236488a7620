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

/** Builds a policy from partial options. */
export function deactivationPolicy(options: Partial<DeactivationPolicy> = {}): DeactivationPolicy {
  const policy = { ...DEFAULT_POLICY, ...options };
  if (policy.activateAt !== null && !Number.isFinite(policy.activateAt)) {
    throw new RangeError(`'activateAt' must be epoch milliseconds or null: current value is ${policy.activateAt}`);
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
