import { PagletError } from "./errors.ts";

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

/** What a deactivation may ask for: a policy's fields, with `afterSeconds` in place of `activateAt`. */
export type PolicyInput = Partial<DeactivationPolicy> & {
  /** Wakes the paglet this many seconds from now (at most 100 years); not with `activateAt`. */
  afterSeconds?: number;
};

const POLICY_FIELDS = [
  "activateAt",
  "afterSeconds",
  "activateOnMessage",
  "queueMessagesWhenInactive",
  "activateOnStartup",
];

/**
 * Builds a policy from partial options; a field it does not know, or a value of the wrong type,
 * fails at once (a mistyped field would otherwise leave a paglet asleep for ever).
 */
export function deactivationPolicy(options: PolicyInput = {}): DeactivationPolicy {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(
      `A deactivation policy must be an object: current value is ${JSON.stringify(options)}`,
    );
  }
  const unknown = Object.keys(options).find((key) => !POLICY_FIELDS.includes(key));
  if (unknown !== undefined) {
    throw new TypeError(
      `A deactivation policy has no field '${unknown}': its fields are ${POLICY_FIELDS.join(", ")}`,
    );
  }
  const policy: DeactivationPolicy = { ...DEFAULT_POLICY };
  let activateAt = options.activateAt ?? null;
  const { afterSeconds } = options;
  if (afterSeconds !== undefined) {
    if (activateAt !== null) {
      throw new RangeError("The policy names both activateAt and afterSeconds: pass one of them");
    }
    activateAt = Date.now() + 1000 * checkedSeconds(afterSeconds, "afterSeconds");
  }
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
 * The policy of a paglet put to sleep until its host's next start (a graceful stop, or a restore
 * that cannot run it yet): its own last one (the default when it has none), with
 * `activateOnStartup` and no wake-up time.
 */
export function untilStartup(own: DeactivationPolicy | null | undefined): DeactivationPolicy {
  return { ...policyFields(own ?? {}), activateAt: null, activateOnStartup: true };
}

/**
 * A policy's four fields, the defaults for those it lacks, and nothing else: a policy stored by the
 * first versions may hold other keys, which {@link deactivationPolicy} refuses.
 */
export function policyFields(stored: Partial<DeactivationPolicy>): DeactivationPolicy {
  return {
    activateAt: stored.activateAt ?? DEFAULT_POLICY.activateAt,
    activateOnMessage: stored.activateOnMessage ?? DEFAULT_POLICY.activateOnMessage,
    queueMessagesWhenInactive: stored.queueMessagesWhenInactive ?? DEFAULT_POLICY.queueMessagesWhenInactive,
    activateOnStartup: stored.activateOnStartup ?? DEFAULT_POLICY.activateOnStartup,
  };
}

/**
 * A policy that wakes the paglet after `seconds`.
 * @example
 * ```ts
 * await this.context.deactivate(after(300, { activateOnMessage: true }));
 * ```
 */
export function after(seconds: number, options: Partial<DeactivationPolicy> = {}): DeactivationPolicy {
  return deactivationPolicy({
    ...options,
    activateAt: Date.now() + checkedSeconds(seconds, "seconds") * 1000,
  });
}

function checkedSeconds(seconds: unknown, name: string): number {
  if (typeof seconds !== "number" || !(seconds >= 0 && seconds <= MAX_WAKE_SECONDS)) {
    throw new RangeError(
      `'${name}' must be a number from 0 to ${MAX_WAKE_SECONDS}: current value is ${JSON.stringify(seconds)}`,
    );
  }
  return seconds;
}

/** {@link deactivationPolicy}, failing with `invalid_request` (a request's or a paglet's policy). */
export function requestedPolicy(options: PolicyInput): DeactivationPolicy {
  try {
    return deactivationPolicy(options);
  } catch (err) {
    throw new PagletError("invalid_request", `Cannot deactivate: ${(err as Error).message}`);
  }
}
