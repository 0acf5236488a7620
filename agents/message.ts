/** Messages between paglets, with priorities and delivery options. */

/** Lowest ordinary priority. */
export const PRIORITY_MIN = 1;
/** Default priority. */
export const PRIORITY_NORMAL = 5;
/** Highest ordinary priority. */
export const PRIORITY_MAX = 10;
/** Bypasses the mailbox queue: delivered as soon as the current handler returns. */
export const PRIORITY_UNQUEUED = 0;

/** A message as a paglet receives it. */
export interface Message<A = Record<string, unknown>> {
  /** What the message asks for, e.g. `"increment"`. */
  kind: string;
  /** Named arguments (plain data; bigint and Uint8Array survive every path). */
  args: A;
  /** 1..10, higher first; 0 = unqueued bypass. @default 5 */
  priority: number;
  /** Sender agent id, when sent by a paglet. */
  sender?: string;
  /** Unique id of this message. */
  id: string;
  /** Epoch milliseconds when the message was sent. */
  sentAt: number;
}

/** What a sender supplies. */
export interface MessageInput {
  kind: string;
  args?: Record<string, unknown>;
  priority?: number;
}

/** Options of a send. */
export interface SendOptions {
  /** Fail with `agent_inactive` instead of activating or queueing when the target is inactive. */
  noDelay?: boolean;
  /** Reply timeout in milliseconds. @default 30000 */
  timeoutMs?: number;
}

let counter = 0;
const prefix = crypto.randomUUID().slice(0, 8);

/** A new message id, unique across hosts. */
export function newMessageId(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `msg_${prefix}${counter.toString(36)}`;
}

/** The longest message kind: a kind names a handler, not data. */
export const MAX_KIND_LENGTH = 200;

/** Normalises a message input into a full message. */
export function toMessage(input: MessageInput, sender?: string): Message {
  if (!input || typeof input.kind !== "string" || input.kind.length === 0) {
    throw new TypeError("A message needs a non-empty string 'kind'");
  }
  if (input.kind.length > MAX_KIND_LENGTH) {
    throw new RangeError(
      `A message's kind must be at most ${MAX_KIND_LENGTH} characters: this one has ${input.kind.length}`,
    );
  }
  const priority = input.priority ?? PRIORITY_NORMAL;
  if (!Number.isInteger(priority) || priority < 0 || priority > PRIORITY_MAX) {
    throw new RangeError(`Message priority must be an integer 0..10: current value is ${priority}`);
  }
  return {
    kind: input.kind,
    args: input.args ?? {},
    priority,
    sender,
    id: newMessageId(),
    sentAt: Date.now(),
  };
}
