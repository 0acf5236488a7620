/**
 * The last notifications of a host: a bounded ring, oldest dropped first, with ascending ids. It
 * keeps at most `capacity` notifications and `maxBytes` of them (a notification's fields may be
 * megabytes: a thousand of those would hold gigabytes); the newest is always kept.
 *
 * @module
 */
import { approximateBytes, BoundedRing } from "../../host/bounded_ring.ts";
import type { Notification } from "./contract.ts";

export class NotificationLog {
  readonly #ring: BoundedRing<Notification>;
  #nextId = 1;

  /**
   * @param capacity how many to keep. @default 1000
   * @param maxBytes how much they may hold, as `approximateBytes` counts it. @default 64 MiB
   */
  constructor(capacity = 1000, maxBytes = 64 * 1024 * 1024) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `NotificationLog capacity must be a positive integer: current value is ${capacity}`,
      );
    }
    this.#ring = new BoundedRing<Notification>(capacity, maxBytes, approximateBytes);
  }

  get capacity(): number {
    return this.#ring.capacity;
  }

  /** Stores a notification and gives it the next id. */
  add(fields: Omit<Notification, "id">): Notification {
    const notification = { id: this.#nextId++, ...fields };
    this.#ring.push(notification);
    return notification;
  }

  /** Bytes the kept notifications hold, as `approximateBytes` counts them. */
  get bytes(): number {
    return this.#ring.bytes;
  }

  /** Notifications with id > `since` and at >= `sinceTime`, oldest first, at most `limit`. */
  recent(since = 0, limit = 100, sinceTime = 0): Notification[] {
    return this.#ring.items.filter((n) => n.id > since && n.at >= sinceTime).slice(0, limit);
  }

  get lastId(): number {
    return this.#nextId - 1;
  }
}
