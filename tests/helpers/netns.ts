/**
 * A network lab of Linux network namespaces for partition tests (Debian's iproute2, run as root):
 * one namespace per host, each joined by a veth pair to a bridge in a hub namespace, plus a veth
 * from the test's own namespace to that bridge so the test reaches every host. The addresses are
 * in 198.18.0.0/15 (reserved for network tests) and exist only inside the lab; nothing leaves it.
 *
 * `cut(i)` takes host i's link to the bridge down (its packets are dropped both ways, as with a
 * pulled cable); `heal(i)` brings it back. `close()` deletes every namespace, and with them every
 * interface the lab made.
 */

export interface NetLab {
  /** Namespace name of host i. */
  readonly namespaces: string[];
  /** Address of host i inside the lab. */
  readonly addresses: string[];
  cut(i: number): Promise<void>;
  heal(i: number): Promise<void>;
  close(): Promise<void>;
}

/** Why a lab cannot be made here (not root, no `ip`), or null when it can. */
export async function netLabUnavailable(): Promise<string | null> {
  if (Deno.uid() !== 0) return "network namespaces need root";
  const ip = await new Deno.Command("ip", { args: ["-V"], stdout: "null", stderr: "null" }).output().catch(
    () => null,
  );
  return ip?.success ? null : "`ip` (Debian's iproute2) is missing";
}

async function ip(...args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
}

/** Makes a lab of `count` host namespaces (at most 8). */
export async function makeNetLab(count: number): Promise<NetLab> {
  if (!Number.isInteger(count) || count < 1 || count > 8) {
    throw new RangeError(
      `Cannot make a lab as 'count' must be an integer in 1..8: current value is ${count}`,
    );
  }
  // Names and subnet drawn at random: test files running at once share one process (its pid), so
  // two labs of one run, or of two runs, are told apart by the draw (and `ip netns add` refuses a
  // name taken).
  const draw = crypto.getRandomValues(new Uint32Array(1))[0];
  const tag = `pg${draw % 100_000}`;
  const subnet = `198.18.${Math.floor(draw / 100_000) % 250}`;
  const hub = `${tag}hub`;
  const namespaces = Array.from({ length: count }, (_, i) => `${tag}h${i}`);
  const addresses = namespaces.map((_, i) => `${subnet}.${i + 1}`);
  const made: string[] = [];
  const close = async () => {
    for (const ns of made.reverse()) await ip("netns", "del", ns).catch(() => {/* already gone */});
  };
  try {
    await ip("netns", "add", hub);
    made.push(hub);
    await ip("-n", hub, "link", "set", "lo", "up");
    await ip("-n", hub, "link", "add", "br0", "type", "bridge");
    await ip("-n", hub, "link", "set", "br0", "up");
    for (const [i, ns] of namespaces.entries()) {
      await ip("netns", "add", ns);
      made.push(ns);
      await ip("link", "add", `${tag}v${i}`, "type", "veth", "peer", "name", `${tag}b${i}`);
      await ip("link", "set", `${tag}v${i}`, "netns", ns);
      await ip("link", "set", `${tag}b${i}`, "netns", hub);
      await ip("-n", hub, "link", "set", `${tag}b${i}`, "master", "br0", "up");
      await ip("-n", ns, "link", "set", "lo", "up");
      await ip("-n", ns, "addr", "add", `${addresses[i]}/24`, "dev", `${tag}v${i}`);
      await ip("-n", ns, "link", "set", `${tag}v${i}`, "up");
    }
    // The test's own way in: deleting the hub deletes the peer, and so this end too.
    await ip("link", "add", `${tag}r`, "type", "veth", "peer", "name", `${tag}rb`);
    await ip("link", "set", `${tag}rb`, "netns", hub);
    await ip("-n", hub, "link", "set", `${tag}rb`, "master", "br0", "up");
    await ip("addr", "add", `${subnet}.254/24`, "dev", `${tag}r`);
    await ip("link", "set", `${tag}r`, "up");
  } catch (err) {
    await close();
    throw err;
  }
  return {
    namespaces,
    addresses,
    cut: (i) => ip("-n", hub, "link", "set", `${tag}b${i}`, "down"),
    heal: (i) => ip("-n", hub, "link", "set", `${tag}b${i}`, "up"),
    close,
  };
}
