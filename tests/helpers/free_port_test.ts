/**
 * freePort's ports are ones no host started on port 0 can take while a host that owns one is down:
 * outside the kernel's range for port-0 binds, with nothing listening on them.
 */
import { assert } from "./assert.ts";
import { freePort } from "./free_port.ts";

const RANGE = "/proc/sys/net/ipv4/ip_local_port_range";

Deno.test({
  name: "freePort gives free ports outside the kernel's range for port-0 binds",
  ignore: Deno.build.os !== "linux",
  fn() {
    const [low, high] = Deno.readTextFileSync(RANGE).trim().split(/\s+/).map(Number);
    for (let i = 0; i < 50; i++) {
      const port = freePort();
      assert(port < low || port > high, `${port} is outside ${low}-${high}`);
      assert(port >= 10_000, `${port} is no well-known or registered service's port`);
      Deno.listen({ hostname: "127.0.0.1", port }).close();
    }
  },
});
