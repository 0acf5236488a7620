/**
 * The last notifications of a host: a bounded ring, oldest dropped first, with ascending ids.
 *
 * @module
 */
import type { Notification } from "./contract.ts";

export class NotificationLog {
  readonly capacity: number;
  readonly #items: Notification[] = [];
  #nextId = 1;

  /** @param capacity how many to keep. @default 1000 */
  constructor(capacity = 1000) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `NotificationLog capacity must be a positive integer: current value is ${capacity}`,
      );
    }
    this.capacity = capacity;
  }

  /** Stores a notification and gives it the next id. */
  add(fields: Omit<Notification, "id">): Notification {
    const notification = { id: this.#nextId++, ...fields };
    this.#items.push(notification);
    if (this.#items.length > this.capacity) this.#items.splice(0, this.#items.length - this.capacity);
    return notification;
  }

  /** Notifications with id > `since` and at >= `sinceTime`, oldest first, at most `limit`. */
  recent(since = 0, limit = 100, sinceTime = 0): Notification[] {
    return this.#items.filter((n) => n.id > since && n.at >= sinceTime).slice(0, limit);
  }

  get lastId(): number {
    return this.#nextId - 1;
  }
}
