/** `--bind-public`: the address choice, on fake interface lists (no traffic is sent anywhere). */
import { assertEquals } from "../helpers/assert.ts";
import { type InterfaceInfo, pickLanAddress, publicBinding } from "../../host/mesh/public_address.ts";

const lo: InterfaceInfo = { family: "IPv4", name: "lo", address: "127.0.0.1" };
const lo6: InterfaceInfo = { family: "IPv6", name: "lo", address: "::1" };
const linkLocal: InterfaceInfo = { family: "IPv4", name: "eth1", address: "169.254.3.4" };
const eth6: InterfaceInfo = { family: "IPv6", name: "eth0", address: "fe80::1" };
const eth: InterfaceInfo = { family: "IPv4", name: "eth0", address: "192.168.1.20" };
const wlan: InterfaceInfo = { family: "IPv4", name: "wlan0", address: "10.0.0.7" };

Deno.test("auto picks the first IPv4 address that is neither loopback nor link-local", () => {
  assertEquals(pickLanAddress([lo, lo6, linkLocal, eth6, eth, wlan]), "192.168.1.20");
  assertEquals(pickLanAddress([wlan, eth]), "10.0.0.7");
  assertEquals(pickLanAddress([lo, lo6, eth6, linkLocal]), null);
  assertEquals(pickLanAddress([]), null);
});

Deno.test("--bind-public publishes the chosen address and binds all interfaces unless --bind says otherwise", () => {
  assertEquals(publicBinding({ bindPublic: "auto", port: 8765, interfaces: [lo, eth] }), {
    bind: "0.0.0.0",
    publicUrl: "http://192.168.1.20:8765",
  });
  assertEquals(
    publicBinding({ bindPublic: "auto", port: 8765, bind: "192.168.1.20", interfaces: [lo, eth] }).bind,
    "192.168.1.20",
  );
  assertEquals(
    publicBinding({ bindPublic: "10.1.2.3", port: 9000, interfaces: [] }).publicUrl,
    "http://10.1.2.3:9000",
  );
  assertEquals(
    publicBinding({ bindPublic: "fd00::5", port: 9000, interfaces: [] }).publicUrl,
    "http://[fd00::5]:9000",
  );
});

Deno.test("--bind-public fails clearly without a LAN address, with port 0, or with a malformed address", () => {
  throwsCode(
    () => publicBinding({ bindPublic: "auto", port: 8765, interfaces: [lo, lo6] }),
    "invalid_request",
  );
  throwsCode(
    () => publicBinding({ bindPublic: "auto", port: 0, interfaces: [eth] }),
    "invalid_request",
  );
  throwsCode(
    () => publicBinding({ bindPublic: "http://x/y", port: 1, interfaces: [] }),
    "invalid_request",
  );
});

function throwsCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    assertEquals((err as { code?: string }).code, code);
    return;
  }
  throw new Error(`expected an error with code ${code}`);
}
