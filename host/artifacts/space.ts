/**
 * The room artifacts take on a host: the bytes stored artifacts use (a running total) and the
 * bytes uploads in progress have reserved, against the size limit of one artifact and the quota of
 * all of them.
 *
 * An upload that declares its size reserves all of it when it is admitted: of two uploads that
 * cannot both fit, the second is refused at once, instead of both being admitted and each refused
 * halfway for the bytes the other received meanwhile. An upload that declares no size holds what it
 * has received so far, checked again with every chunk.
 *
 * @example
 * ```ts
 * const space = new ArtifactSpace({ maxSize: null, quota: 1000 });
 * space.reserve("a", 600, "An upload");
 * space.reserve("b", 600, "An upload"); // throws quota_exceeded: 0 used, 600 reserved
 * ```
 */
import { PagletError } from "../../agents/errors.ts";

export interface ArtifactLimits {
  /** Largest artifact; null = unlimited. */
  maxSize: number | null;
  /** Bytes all artifacts may use together; null = unlimited. */
  quota: number | null;
}

export class ArtifactSpace {
  readonly #limits: ArtifactLimits;
  #used = 0;
  /** Bytes held by each upload in progress, by its id. */
  readonly #reserved = new Map<string, number>();

  constructor(limits: ArtifactLimits) {
    this.#limits = Object.freeze({ ...limits });
  }

  /** Bytes used by stored artifacts. */
  get usedBytes(): number {
    return this.#used;
  }

  /** Bytes held by uploads in progress. */
  get reservedBytes(): number {
    let sum = 0;
    for (const n of this.#reserved.values()) sum += n;
    return sum;
  }

  /** Whether upload `id` holds a reservation (it is in progress). */
  holds(id: string): boolean {
    return this.#reserved.has(id);
  }

  /** An artifact of `size` bytes is stored (counted at open). */
  stored(size: number): void {
    this.#used += size;
  }

  /** An artifact of `size` bytes is gone. */
  freed(size: number): void {
    this.#used = Math.max(0, this.#used - size);
  }

  /**
   * Upload `id` holds `size` bytes from now on (in place of what it held before), or, when they
   * would break the size limit or not fit beside the stored bytes and the other reservations, it
   * is refused (`payload_too_large`, `quota_exceeded`) and holds what it held. `what` names the
   * upload in the message ("An upload").
   */
  reserve(id: string, size: number, what: string): void {
    const { maxSize, quota } = this.#limits;
    if (maxSize !== null && size > maxSize) {
      throw new PagletError(
        "payload_too_large",
        `${what} of ${size} bytes exceeds the artifact size limit of ${maxSize} bytes`,
      );
    }
    if (quota !== null) {
      const others = this.reservedBytes - (this.#reserved.get(id) ?? 0);
      if (this.#used + others + size > quota) {
        throw new PagletError(
          "quota_exceeded",
          `${what} of ${size} bytes does not fit in the artifact storage quota of ${quota} bytes: ` +
            `${this.#used} used by stored artifacts, ${others} reserved by uploads in progress`,
        );
      }
    }
    this.#reserved.set(id, size);
  }

  /** Upload `id` is stored as `size` bytes: they count as used, its reservation ends. */
  commit(id: string, size: number): void {
    this.#reserved.delete(id);
    this.#used += size;
  }

  /** Upload `id` failed or ended: what it held is free for other uploads at once. */
  release(id: string): void {
    this.#reserved.delete(id);
  }
}
