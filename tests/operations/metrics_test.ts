/**
 * GET /metrics of real host processes after real work (messages, a deactivation, a dispatch, a
 * compute job): Debian's `promtool check metrics` accepts the text, every documented family is
 * there with its type, routes are labelled by template (never by agent id), and the delivered
 * counter does not fall when an agent deactivates.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { type HostProcess, startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";

const FAMILIES: Record<string, string> = {
  paglets_http_requests_total: "counter",
  paglets_http_request_duration_seconds: "histogram",
  paglets_messages_delivered_total: "counter",
  paglets_messages_failed_total: "counter",
  paglets_mailbox_depth: "gauge",
  paglets_agents: "gauge",
  paglets_agents_live: "gauge",
  paglets_transfers_total: "counter",
  paglets_transfer_bytes_total: "counter",
  paglets_code_fetches_total: "counter",
  paglets_compute_slots_leases: "gauge",
  paglets_compute_slots_queued: "gauge",
  paglets_compute_slots_reserved_cores: "gauge",
  paglets_compute_slots_free_cores: "gauge",
  paglets_compute_slots_grants_total: "counter",
  paglets_compute_slots_redirects_total: "counter",
  paglets_compute_slots_steps_total: "counter",
  paglets_mesh_hosts: "gauge",
  paglets_gossip_rounds_total: "counter",
  paglets_gossip_exchanges_total: "counter",
  paglets_gossip_bytes_total: "counter",
  process_resident_memory_bytes: "gauge",
  process_cpu_seconds_total: "counter",
  process_open_fds: "gauge",
  paglets_event_loop_lag_seconds: "gauge",
  paglets_durability_failures_total: "counter",
  paglets_events_total: "counter",
  paglets_retrying_starts: "gauge",
};

async function scrape(host: HostProcess): Promise<string> {
  const response = await fetch(`${host.url}/metrics`, { headers: { authorization: "Bearer m-key" } });
  assertEquals(response.status, 200);
  assert(response.headers.get("content-type")!.startsWith("text/plain; version=0.0.4"));
  return await response.text();
}

/** The value of one series (`name{labels}` exactly as printed), or of the unlabelled one. */
function value(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : NaN;
}

async function promtool(text: string): Promise<{ code: number; output: string }> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, output: decode(out.stdout) + decode(out.stderr) };
}

Deno.test("/metrics after real work: promtool accepts it, every family is there, counters only grow", async (t) => {
  try {
    const alpha = await startHost({ name: "alpha", apiKey: "m-key", args: ["--gossip-interval-ms", "200"] });
    const beta = await startHost({
      name: "beta",
      apiKey: "m-key",
      args: ["--gossip-interval-ms", "200", "--peer", alpha.url],
    });
    await eventually(
      "a mesh of two",
      async () => value(await scrape(alpha), 'paglets_mesh_hosts{state="online"}') === 2,
    );
    const { id } = await alpha.client.createAgent({ type: "demo.counter" });
    for (let i = 0; i < 3; i++) await alpha.client.send(id, { kind: "increment" });
    // One the counter does not handle (not_handled): failed, not delivered.
    await alpha.client.send(id, { kind: "no-such-kind" }).catch(() => {});
    const before = value(await scrape(alpha), "paglets_messages_delivered_total");
    assert(before >= 3, `delivered ${before}`);
    assertEquals(value(await scrape(alpha), "paglets_messages_failed_total"), 1);
    await alpha.client.deactivate(id, {});
    const { id: mover } = await alpha.client.createAgent({ type: "demo.counter" });
    await alpha.client.dispatch(mover, beta.url);
    // A move the target refuses before it is sent (another mesh version) counts as refused on both sides.
    const gamma = await startHost({ name: "gamma", apiKey: "m-key", args: ["--mesh-version", "other"] });
    const { id: refused } = await alpha.client.createAgent({ type: "demo.counter" });
    await alpha.client.dispatch(refused, gamma.url).then(
      () => assert(false, "gamma took an agent of another mesh version"),
      (err) => assertEquals(err.code, "mesh_version_mismatch"),
    );
    const job = await alpha.client.createAgent({
      type: "demo.spinjob",
      state: { ms: 10, allowHomeCompute: true },
    });
    type JobRecord = { movedTo?: string; state?: { computeStatus?: string } } | null;
    await eventually("the job completes", async () => {
      // The scheduler may place the job on either host: follow it if it moved to beta.
      const home = await alpha.client.getAgent(job.id).catch(() => null) as JobRecord;
      const record = home?.movedTo === beta.url
        ? await beta.client.getAgent(job.id).catch(() => null) as JobRecord
        : home;
      return record?.state?.computeStatus === "COMPLETED";
    }, 20_000);
    // Methods a client makes up are one series, however many it sends (refused ones too).
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${alpha.url}/v1/agents`, { method: `MADEUP${i}` });
      assertEquals(res.status, 401);
      await res.body?.cancel();
    }
    const [a, b, g] = [await scrape(alpha), await scrape(beta), await scrape(gamma)];

    await t.step("promtool check metrics accepts both hosts' text", async () => {
      for (const text of [a, b]) {
        const checked = await promtool(text);
        assertEquals(checked.code, 0, checked.output);
      }
    });

    await t.step("every documented family is there with its type", () => {
      for (const [name, type] of Object.entries(FAMILIES)) {
        assert(a.includes(`# TYPE ${name} ${type}\n`), `${name} (${type}) is missing`);
      }
    });

    await t.step("labelled series exist at 0 before their first event", () => {
      for (
        const series of [
          'paglets_code_fetches_total{outcome="rejected"}',
          'paglets_transfers_total{direction="in",outcome="refused"}',
        ]
      ) {
        assertEquals(value(a, series), 0, series);
      }
    });

    await t.step("the numbers tell what happened", () => {
      assert(
        value(a, "paglets_messages_delivered_total") >= before,
        "the delivered counter fell at a deactivation",
      );
      assertEquals(value(a, 'paglets_agents{status="inactive",type="demo.counter"}'), 1);
      assert(value(a, 'paglets_transfers_total{direction="out",outcome="acked"}') >= 1);
      assert(value(a, 'paglets_transfer_bytes_total{direction="out"}') > 0);
      assert(value(b, 'paglets_transfers_total{direction="in",outcome="stored"}') >= 1);
      assertEquals(value(a, 'paglets_transfers_total{direction="out",outcome="refused"}'), 1);
      assertEquals(
        value(g, 'paglets_transfers_total{direction="in",outcome="refused"}'),
        1,
      );
      // The job ran on one of the two hosts.
      const both = (series: string) => value(a, series) + value(b, series);
      assert(both('paglets_compute_slots_grants_total{when="at-once"}') >= 1);
      assert(both('paglets_compute_slots_steps_total{outcome="succeeded"}') >= 1);
      assert(value(a, 'paglets_gossip_bytes_total{direction="sent"}') > 0);
      assert(value(a, "process_resident_memory_bytes") > 10 * 1024 * 1024);
      assert(
        a.includes('paglets_http_requests_total{route="/v1/agents/:id/messages",method="POST",status="200"}'),
        "messages are counted by route template",
      );
      assert(!a.includes(id), "no series is labelled with an agent id");
      assert(!a.includes("MADEUP"), "no series is labelled with a made-up method");
      assertEquals(value(a, 'paglets_http_requests_total{route="unmatched",method="other",status="401"}'), 5);
    });
  } finally {
    await stopAll();
  }
});
