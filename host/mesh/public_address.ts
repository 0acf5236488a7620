/**
 * `--bind-public auto|ADDRESS`: which address a host publishes to the mesh, and which it binds.
 *
 * @example
 * ```ts
 * const address = pickLanAddress([
 *   { family: "IPv4", name: "lo", address: "127.0.0.1", netmask: "255.0.0.0", scopeid: null, cidr: "127.0.0.1/8", mac: "" },
 *   { family: "IPv4", name: "eth0", address: "192.168.1.20", netmask: "255.255.255.0", scopeid: null, cidr: "192.168.1.20/24", mac: "" },
 * ]);
 * console.log(address); // "192.168.1.20"
 * ```
 */
import { PagletError } from "../../agents/errors.ts";

/** The fields of `Deno.NetworkInterfaceInfo` the choice looks at. */
export type InterfaceInfo = Pick<Deno.NetworkInterfaceInfo, "family" | "name" | "address">;

/**
 * The machine's LAN address: the first IPv4 address that is neither loopback (127/8) nor
 * link-local (169.254/16, which only exists when no DHCP answered). Null when there is none.
 */
export function pickLanAddress(interfaces: readonly InterfaceInfo[]): string | null {
  for (const iface of interfaces) {
    if (iface.family !== "IPv4") continue;
    if (
      iface.address.startsWith("127.") || iface.address.startsWith("169.254.") || iface.address === "0.0.0.0"
    ) continue;
    return iface.address;
  }
  return null;
}

/** Where a host listens and what it publishes. */
export interface PublicBinding {
  /** Address to listen on. */
  bind: string;
  /** Base URL published to the mesh. */
  publicUrl: string;
}

export interface PublicBindingOptions {
  /** `auto` or an address to publish. */
  bindPublic: string;
  /** Listening port; must be fixed, as peers dial it. */
  port: number;
  /** An explicit `--bind`; by default all interfaces (0.0.0.0), so 127.0.0.1 keeps working on this machine. */
  bind?: string;
  /** The interface list (tests pass a fake one). @default Deno.networkInterfaces() */
  interfaces?: readonly InterfaceInfo[];
}

/** Resolves `--bind-public` into a bind address and a public URL; fails with a clear message. */
export function publicBinding(options: PublicBindingOptions): PublicBinding {
  const { bindPublic, port, bind = "0.0.0.0" } = options;
  if (port === 0) {
    throw new PagletError(
      "invalid_request",
      "--bind-public needs a fixed --port: other hosts must be able to dial this one",
    );
  }
  let address = bindPublic.trim();
  if (address === "auto") {
    const found = pickLanAddress(options.interfaces ?? Deno.networkInterfaces());
    if (!found) {
      throw new PagletError(
        "invalid_request",
        "--bind-public auto found no LAN IPv4 address on this machine; pass the address instead (--bind-public 10.0.0.5)",
      );
    }
    address = found;
  }
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(address)) {
    throw new PagletError(
      "invalid_request",
      `--bind-public must be 'auto', an IP address or a DNS name: got '${bindPublic}'`,
    );
  }
  const hostPart = address.includes(":") && !address.startsWith("[") ? `[${address}]` : address;
  return { bind, publicUrl: `http://${hostPart}:${port}` };
}
