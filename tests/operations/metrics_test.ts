/**
 * GET /metrics of a real host process: the families operators rely on exist with their types,
 * Debian's `promtool check metrics` accepts the text, routes are labelled by template (never by
 * agent id), and the delivered counter does not fall when an agent deactivates.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";

const PROMTOOL = "/usr/bin/promtool";
const havePromtool = await Deno.stat(PROMTOOL).then(() => true, () => false);
if (!havePromtool) {
  console.error(`promtool check skipped: ${PROMTOOL} is missing (apt-get install prometheus)`);
}

const KEY = "metrics-key";

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } });
  assertEquals(res.status, 200);
  return await res.text();
}

/** `# TYPE` of each family in the exposition. */
function types(text: string): Map<string, string> {
  return new Map(
    [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]),
  );
}

function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  assert(line, `no sample ${series}`);
  return Number(line.slice(series.length + 1));
}

Deno.test("a host's /metrics: families and types, promtool-clean, route templates, a delivered counter that only grows", async () => {
  const h = await startHost({ name: "metered", apiKey: KEY });
  try {
    // Authenticated like every route.
    assertEquals(
      (await fetch(`${h.url}/metrics`).then(async (r) => (await r.body?.cancel(), r))).status,
      401,
    );

    const { id } = await h.client.createAgent({ type: "demo.counter" });
    for (let i = 0; i < 3; i++) await h.client.send(id, { kind: "increment" });
    await fetch(`${h.url}/no/such/route/${id}`, { headers: { authorization: `Bearer ${KEY}` } })
      .then((r) => r.body?.cancel());

    const before = await scrape(h.url);
    const delivered = sample(before, "paglets_messages_delivered_total");
    assert(delivered >= 3, `delivered ${delivered}`);

    await h.client.deactivate(id);
    const text = await scrape(h.url);
    assert(sample(text, "paglets_messages_delivered_total") >= delivered, "the delivered counter fell");
    assertEquals(sample(text, 'paglets_agents{status="inactive",type="demo.counter"}'), 1);

    const t = types(text);
    const expected: Record<string, string> = {
      paglets_http_requests_total: "counter",
      paglets_http_request_duration_seconds: "histogram",
      paglets_messages_delivered_total: "counter",
      paglets_mailbox_queued: "gauge",
      paglets_agents: "gauge",
      paglets_durability_failures_total: "counter",
      paglets_events_total: "counter",
      paglets_event_loop_lag_seconds: "gauge",
      process_resident_memory_bytes: "gauge",
      process_cpu_seconds_total: "counter",
      process_open_fds: "gauge",
      process_start_time_seconds: "gauge",
    };
    for (const [family, type] of Object.entries(expected)) assertEquals(t.get(family), type, family);

    // Labelled by the route template, unknown routes under one label, and no agent id anywhere.
    assert(
      text.includes(
        'paglets_http_requests_total{route="/v1/agents/:id/messages",method="POST",status="200"} 3',
      ),
      text,
    );
    assert(text.includes('paglets_http_requests_total{route="unmatched",method="GET",status="404"}'), text);
    assert(!text.includes(id), "an agent id became a label value");
    assert(sample(text, "process_resident_memory_bytes") > 1_000_000);
    assert(sample(text, "process_open_fds") > 0);

    if (havePromtool) {
      const check = new Deno.Command(PROMTOOL, {
        args: ["check", "metrics"],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      })
        .spawn();
      const writer = check.stdin.getWriter();
      await writer.write(new TextEncoder().encode(text));
      await writer.close();
      const out = await check.output();
      const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert(out.success && said.trim() === "", `promtool check metrics: ${said}`);
    }
  } finally {
    await stopAll();
  }
});
