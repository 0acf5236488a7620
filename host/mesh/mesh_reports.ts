/**
 * What keeps this host out of the mesh, or another host out of its name, said once each: an event
 * on `GET /v1/events` and, unless the host is quiet, one `warning:` line on stderr (docs/mesh.md#events).
 */
import type { PagletError } from "../../agents/errors.ts";
import type { Host } from "../host.ts";
import type { MembershipTable, MemberView } from "./membership.ts";

/**
 * Error codes of a peer that answered, but refused this host's gossip request: as malformed or too
 * big, or (`forbidden`) as sent to a name of the peer's that it does not take for its own.
 */
const REFUSALS = new Set([
  "invalid_request",
  "bad_request",
  "malformed_json",
  "payload_too_large",
  "forbidden",
]);

export class MeshReports {
  readonly #host: Host;
  readonly #table: () => MembershipTable;
  /** What was said already, by kind and peer URL: each once. */
  readonly #said = new Set<string>();
  /** Peers that answered with a refusal: no seed of them is said to be silent. */
  readonly #refused = new Set<string>();

  constructor(host: Host, table: () => MembershipTable) {
    this.#host = host;
    this.#table = table;
  }

  /** A failed exchange: the first refusal by a peer (another mesh version, another key, a refused request). */
  gossipFailed(url: string, error: PagletError): void {
    const refusal = error.code === "mesh_version_mismatch" || error.code === "unauthorized" ||
      REFUSALS.has(error.code);
    if (refusal) this.#refused.add(url);
    if (error.code === "mesh_version_mismatch") {
      this.#once(url, "mesh-version-mismatch", { url }, error.message, error.message);
    } else if (error.code === "unauthorized") {
      this.#once(
        url,
        "mesh-unauthorized",
        { url },
        error.message,
        `${url} refuses this host's calls (${error.message}): it is unauthorized here`,
      );
    } else if (REFUSALS.has(error.code)) {
      this.#once(
        url,
        "mesh-gossip-refused",
        { url },
        error.message,
        `${url} refuses this host's gossip (${error.message}): this host reaches the mesh only through others`,
      );
    }
  }

  /** A seed that never answered failed `tries` times (said unless a refusal of its was said already). */
  seedSilent(url: string, tries: number, error: PagletError): void {
    if (this.#refused.has(url)) return;
    this.#once(
      url,
      "mesh-seed-silent",
      { url, tries },
      error.message,
      `seed ${url} did not answer as a paglets host (${tries} tries; last: ${error.message}): ${this.#membership()}`,
    );
  }

  /** A seed that is this host itself, at another address: dropped. */
  selfSeed(url: string): void {
    this.#once(
      url,
      "mesh-seed-self",
      { url },
      undefined,
      `seed ${url} is this host itself (another address of it), skipped: ${this.#membership()}`,
    );
  }

  /** Another live host uses this host's name (the membership table reports each such host once). */
  nameConflict(other: MemberView, detail: string): void {
    const displaced = this.#table().displacedBy?.url === other.url;
    this.#host.events.emit("mesh-name-conflict", {
      data: { name: other.name, url: other.url, incarnation: other.incarnation, displaced, detail },
    });
    this.#say(`${detail}; restart one of them with another --name`);
  }

  #membership(): string {
    const others = this.#table().size - 1;
    return others === 0
      ? "this host knows no other member yet"
      : `this host knows ${others} other member${others === 1 ? "" : "s"}`;
  }

  #once(url: string, kind: string, data: Record<string, unknown>, error: string | undefined, line: string) {
    const key = `${kind}\n${url}`;
    if (this.#said.has(key)) return;
    this.#said.add(key);
    this.#host.events.emit(kind, { data, ...(error === undefined ? {} : { error }) });
    this.#say(line);
  }

  #say(line: string): void {
    if (!this.#host.options.quiet) console.error(`warning: ${line}`);
  }
}
