/**
 * Ports for hosts that stop and come back on the same URL. Test files run side by side in one
 * process (`deno test --parallel`): while such a host is down, a host another file starts on port 0
 * must not take its port, and two files must not pick the same one (they share no module state).
 * So a port comes from outside the range the kernel hands out for port-0 binds and for outgoing
 * connections (Linux: /proc/sys/net/ipv4/ip_local_port_range, 32768–60999 by default), at random,
 * and only when nothing listens on it now: two files' picks meet by chance alone (about 1 in
 * 20,000 per pick).
 *
 * @module
 */

/** The kernel's range for port-0 binds; IANA's dynamic range where there is no /proc. */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").trim().split(/\s+/)
      .map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low <= high) return [low, high];
  } catch { /* not Linux */ }
  return [49152, 65535];
}

/** Below this, ports of well-known and registered services (8765, paglets' default, among them). */
const LOWEST = 10_000;

/** The ports {@link freePort} draws from: those from {@link LOWEST} up that no port-0 bind gets. */
function spans(): [number, number][] {
  const [low, high] = ephemeralRange();
  return ([[LOWEST, low - 1], [high + 1, 65535]] as [number, number][]).filter(([a, b]) => a <= b);
}

/** A random port from `ranges`, each port equally likely. */
function draw(ranges: [number, number][]): number {
  const total = ranges.reduce((n, [a, b]) => n + b - a + 1, 0);
  let i = Math.floor(Math.random() * total);
  for (const [a, b] of ranges) {
    if (i <= b - a) return a + i;
    i -= b - a + 1;
  }
  throw new Error("unreachable");
}

/**
 * A TCP port on 127.0.0.1 that nothing listens on, which no host started on port 0 gets (see the
 * module's doc): for a host that must come back on the same URL, or a URL where nothing answers.
 */
export function freePort(): number {
  const ranges = spans();
  if (ranges.length === 0) throw new Error("no ports outside the kernel's range for port-0 binds");
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = draw(ranges);
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch { /* in use: draw again */ }
  }
  throw new Error("no free port outside the kernel's range for port-0 binds after 200 tries");
}
