/**
 * What keeps a web page the operator opens from driving a host. A page of another site can send
 * the host requests the browser does not ask it about first (a `no-cors` POST with a text body),
 * and one whose name the attacker points at 127.0.0.1 (DNS rebinding) can even read the answers:
 * on a host without an API key, either would run code there.
 *
 * - A request that carries an `Origin` (browsers send one with every cross-site request) is
 *   refused unless that origin is this host's own: the Host it was sent to, or the host's URL
 *   (its `--public-url`). The dashboard, served by the host itself, passes; the CLI, scripts and
 *   other hosts send no `Origin`.
 * - A host without an API key also refuses a request whose `Host` names none of its addresses:
 *   an IP address, `localhost`, its URL's name, its bind address, the machine's name (also with
 *   `.local`), a name `/etc/hosts` lists, or one `PAGLETS_ALLOWED_HOSTS` lists (comma-separated):
 *   names the machine's owner chose, which a web page cannot point at it. (With a key, a page
 *   cannot authenticate, so the name it used does not matter.)
 *
 * Both answer `403 forbidden`.
 *
 * @module
 */
import { PagletError } from "../../agents/errors.ts";

export interface GuardedHost {
  /** The host's URL (`--public-url`, else its listening address: known once it listens). */
  url: () => string;
  bind: string;
  /** Null: the API is open, and the Host header is checked too. */
  apiKey: string | null;
}

/** Host headers checked already (they repeat: one per client); a bounded memory of them. */
const MAX_REMEMBERED = 256;

/** The guard for `host`: the refusal of `request`, or null when it may pass. */
export function browserGuard(host: GuardedHost): (request: Request) => PagletError | null {
  const hostNames = new Map<string, boolean>();
  const named = (header: string): boolean => {
    let ok = hostNames.get(header);
    if (ok === undefined) {
      ok = namesThisHost(header, host);
      if (hostNames.size >= MAX_REMEMBERED) hostNames.clear();
      hostNames.set(header, ok);
    }
    return ok;
  };
  return (request) => {
    const headers = request.headers;
    const hostHeader = headers.get("host") ?? "";
    const origin = headers.get("origin");
    if (origin !== null && !isOwnOrigin(origin, hostHeader, host.url())) {
      return new PagletError(
        "forbidden",
        `Requests from web pages of other sites are refused (Origin ${origin.slice(0, 200)}): ` +
          "use the host's own dashboard, the CLI or a client that sends no Origin",
      );
    }
    if (host.apiKey === null && hostHeader !== "" && !named(hostHeader)) {
      return new PagletError(
        "forbidden",
        `This host has no API key and answers only requests sent to an address of its own, not to ` +
          `'${hostHeader.slice(0, 200)}' (a guard against web pages that point a name at it): use ` +
          "its URL, set --public-url to the name clients use, or give it an API key",
      );
    }
    return null;
  };
}

function isOwnOrigin(origin: string, hostHeader: string, url: string): boolean {
  if (origin === `http://${hostHeader}` || origin === `https://${hostHeader}`) return true;
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}

/** Whether a Host header (`name[:port]`) names this host by an address of its own. */
function namesThisHost(header: string, host: GuardedHost): boolean {
  let name: string;
  try {
    name = new URL(`http://${header}`).hostname;
  } catch {
    return false;
  }
  // The URL parser writes an IPv4 address in dotted form and an IPv6 one in brackets.
  if (name.startsWith("[") || /^\d+\.\d+\.\d+\.\d+$/.test(name)) return true;
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  const machine = machineName();
  if (name === machine || name === `${machine}.local`) return true;
  return name === host.bind.toLowerCase() || name === hostnameOf(host.url()) || ownerNames().has(name);
}

let owned: Set<string> | undefined;

/** The names in /etc/hosts and in `PAGLETS_ALLOWED_HOSTS`, read once. */
function ownerNames(): Set<string> {
  if (owned) return owned;
  owned = new Set();
  for (const name of (Deno.env.get("PAGLETS_ALLOWED_HOSTS") ?? "").split(",")) {
    if (name.trim()) owned.add(name.trim().toLowerCase());
  }
  try {
    for (const line of Deno.readTextFileSync("/etc/hosts").split("\n")) {
      const fields = line.replace(/#.*/, "").trim().split(/\s+/);
      for (const name of fields.slice(1)) owned.add(name.toLowerCase());
    }
  } catch { /* no such file: IP addresses and the names above only */ }
  return owned;
}

function hostnameOf(url: string): string {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return "";
  }
}

function machineName(): string {
  try {
    return Deno.hostname().toLowerCase();
  } catch {
    return "";
  }
}
