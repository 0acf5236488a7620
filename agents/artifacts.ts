/**
 * Artifacts: files hosted by a paglets host under an id, for results too large for a state or a
 * message. A paglet carries an {@link ArtifactRef} in its state or in a message and resolves it
 * through its context (`downloadArtifact`) on any host.
 *
 * @example
 * ```ts
 * import type { ArtifactRef } from "paglets";
 * const ref: ArtifactRef = await this.context.uploadArtifact(`${await this.context.workDir()}/out.bin`);
 * this.state.result = ref; // plain data: it moves and persists with the paglet
 * ```
 */

/** Where an artifact lives and what it must hash to. Plain data: safe in state and messages. */
export interface ArtifactRef {
  /** Base URL of the host that holds the artifact. */
  hostUrl: string;
  /** 32 lowercase hex characters. */
  id: string;
  name: string;
  size: number;
  /** Lowercase hex SHA-256 of the content. */
  sha256: string;
}

/** Is `value` an {@link ArtifactRef}? */
export function isArtifactRef(value: unknown): value is ArtifactRef {
  if (!value || typeof value !== "object") return false;
  const v = value as Record<string, unknown>;
  return typeof v.hostUrl === "string" && typeof v.id === "string" && /^[0-9a-f]{32}$/.test(v.id) &&
    typeof v.name === "string" && typeof v.size === "number" && typeof v.sha256 === "string";
}
