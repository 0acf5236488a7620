/**
 * A host with an API key in an open mesh: the open host cannot call it, so it lists it as
 * `unauthorized` (never online), leaves it out of placement although the keyed host pushes its
 * status, and warns about it once.
 */
import type { CandidateHostsReply } from "../../services/compute_slots/contract.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { jsonOf, paglets } from "../helpers/cli.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { FAST_MESH, meshHosts } from "./helpers.ts";

const FAST_COMPUTE = { PAGLETS_COMPUTE_GOSSIP_MS: "300", PAGLETS_COMPUTE_SAMPLE_MS: "500" };

Deno.test("a keyed host in an open mesh is unauthorized there, skipped by placement, and warned about once", async () => {
  try {
    const open = await startHost({ name: "open", env: FAST_COMPUTE, args: FAST_MESH });
    const keyed = await startHost({
      name: "keyed",
      apiKey: "k-123",
      env: FAST_COMPUTE,
      args: [...FAST_MESH, "--peer", open.url],
    });
    const candidatesOf = async (url: string, key?: string) =>
      jsonOf<CandidateHostsReply>(
        await paglets(
          ["jobs", "hosts", "--entry", url, "--limit", "0", "--json"],
          key ? { PAGLETS_API_KEY: key } : {},
        ),
      ).candidates.map((c) => c.hostName);

    const seen = await eventually("open lists keyed as unauthorized", async () => {
      const view = (await meshHosts(open)).find((h) => h.name === "keyed");
      return view?.state === "unauthorized" && view;
    }, 15_000);
    assertEquals(seen.online, false);
    // The keyed host can call the open one: it sees it online and pushes its own status to it.
    await eventually(
      "keyed places on open",
      async () => (await candidatesOf(keyed.url, "k-123")).includes("open"),
    );
    const candidates = await candidatesOf(open.url);
    assert(!candidates.includes("keyed"), `open would place jobs on keyed: ${candidates}`);
    // Many gossip rounds later (the keyed host's heartbeat, as the open one sees it, moved on), still
    // one warning.
    await eventually("five more rounds", async () => {
      const view = (await meshHosts(open)).find((h) => h.name === "keyed");
      return (view?.heartbeat ?? 0) >= seen.heartbeat + 5;
    }, 15_000);
    const warnings = open.stderr.filter((line) =>
      /keyed|refuses this host/.test(line) && /unauthorized/.test(line)
    );
    assertEquals(warnings.length, 1, open.stderr.join("\n"));

    // Asked to move an agent there, the open host says the keyed one refused it: a 502 of its
    // own, not the keyed host's 401 passed on as if the caller's key were wrong.
    const { id } = await open.client.createAgent({ type: "demo.counter" });
    const res = await fetch(`${open.url}/v1/agents/${id}/dispatch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ target: keyed.url }),
    });
    const body = await res.json() as { error: { code: string; message: string } };
    assertEquals([res.status, body.error.code], [502, "peer_unauthorized"], body.error.message);
    assertEquals(res.headers.get("www-authenticate"), null);
    assertEquals((await open.client.getAgent(id)).status, "active", "the agent stays where it was");
  } finally {
    await stopAll();
  }
});
