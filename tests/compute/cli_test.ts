/** `paglets jobs ...` as a real subprocess against a host with a busy compute queue. */
import { assert, assertEquals } from "../helpers/assert.ts";
import { jsonOf, paglets } from "../helpers/cli.ts";
import { eventually } from "../helpers/in_process.ts";
import { computeHost, CPUS, createSpinJobs, slotStatus, waitForJobs } from "./helpers.ts";

Deno.test("paglets jobs status|queue|why|top|ps|history|hosts|rm read and drive compute-slots", async (t) => {
  await using h = await computeHost({ name: "jobs-cli" });
  const entry = ["--entry", h.host.url];
  // Busy until the history step disposes them, however slow the CLI runs on a loaded machine.
  const busy = await createSpinJobs(h.client, CPUS.length, { cpuCores: 1, ms: 600_000 });
  // The busy jobs hold every CPU before the others ask (else a loaded machine may grant one of those).
  await eventually(
    "busy jobs hold every CPU",
    async () => (await slotStatus(h.client)).host.reservedCpuCores === CPUS.length,
    10_000,
  );
  const waiting = await createSpinJobs(h.client, 2, { cpuCores: 1, ms: 100 });
  await eventually(
    "two waiting jobs",
    async () => (await slotStatus(h.client)).host.queueLength === 2,
    10_000,
  );

  await t.step("status, queue, why and top show reservations, the queue and its blockers", async () => {
    const [status, queue, why, top] = await Promise.all([
      paglets(["jobs", "status", "--json", ...entry]),
      paglets(["jobs", "queue", "--json", ...entry]),
      paglets(["jobs", "why", "--json", ...entry]),
      paglets(["jobs", "top", "--json", ...entry]),
    ]);
    const s = jsonOf<{ host: { reservedCpuCores: number; queueLength: number } }>(status);
    assertEquals([s.host.reservedCpuCores, s.host.queueLength], [CPUS.length, 2]);
    assertEquals(jsonOf<{ request: { agentId: string } }[]>(queue).map((q) => q.request.agentId), waiting);
    const blockers = jsonOf<{ grantable: boolean; blockers: { kind: string }[] }[]>(why);
    assertEquals(blockers.map((b) => [b.grantable, b.blockers.map((x) => x.kind)]), [[false, ["cpu"]], [
      false,
      ["cpu"],
    ]]);
    const leases = jsonOf<{ leases: { agentId: string; running: boolean }[] }>(top).leases;
    assertEquals(leases.map((l) => l.agentId).sort(), [...busy].sort());
    const table = await paglets(["jobs", "why", ...entry]);
    assert(/cpu: needs 1 cores, 0 free/.test(table.stdout), table.stdout);
  });

  await t.step("ps lists compute jobs by state", async () => {
    const rows = jsonOf<{ agentId: string; computeStatus: string }[]>(
      await paglets(["jobs", "ps", "--state", "WAITING_FOR_SLOT", "--json", ...entry]),
    );
    assertEquals(rows.map((r) => r.agentId).sort(), [...waiting].sort());
  });

  await t.step("hosts ranks candidates and exits 1 when none fits", async () => {
    const ok = jsonOf<{ candidates: { hostName: string }[] }>(
      await paglets(["jobs", "hosts", "--cores", "1", "--json", ...entry]),
    );
    assertEquals(ok.candidates.map((c) => c.hostName), ["jobs-cli"]);
    const none = await paglets(["jobs", "hosts", "--tag", "gpu", ...entry]);
    assertEquals(none.code, 1);
    assert(/lacks required tag 'gpu'/.test(none.stdout), none.stdout);
  });

  await t.step("rm previews with --dry-run, refuses without --force, then removes waiting jobs", async () => {
    const preview = jsonOf<{ dryRun: boolean; jobs: { agentId: string }[] }>(
      await paglets(["jobs", "rm", "--all", "--dry-run", "--json", ...entry]),
    );
    assertEquals(preview.jobs.map((j) => j.agentId).sort(), [...waiting].sort());
    const refused = await paglets(["jobs", "rm", "--all", ...entry]);
    assert(refused.code !== 0 && /--force/.test(refused.stderr), refused.stderr);
    const removed = jsonOf<{ removed: string[]; cancelledRequests: number }>(
      await paglets(["jobs", "rm", "--all", "--force", "--json", ...entry]),
    );
    assertEquals([removed.removed.sort(), removed.cancelledRequests], [[...waiting].sort(), 2]);
    assertEquals((await slotStatus(h.client)).host.queueLength, 0);
    const running = await paglets(["jobs", "rm", "--all", "--state", "RUNNING", ...entry]);
    assert(running.code !== 0 && /never removes RUNNING/.test(running.stderr), running.stderr);
    // A running job named by its agent is not removed, and the command says why.
    const named = await paglets(["jobs", "rm", "--agent", busy[0], "--force", ...entry]);
    assertEquals(named.code, 0, named.stderr);
    assert(
      named.stderr.includes(`skipped`) && named.stderr.includes("RUNNING, not WAITING_FOR_SLOT"),
      named.stderr,
    );
    assert(named.stderr.includes(`paglets agents rm ${busy[0]}`), named.stderr);
  });

  await t.step("history lists finished jobs with their usage", async () => {
    for (const id of busy) await h.client.dispose(id);
    const [quick] = await createSpinJobs(h.client, 1, { cpuCores: 1, ms: 50 });
    await waitForJobs(h.client, [quick], 10_000);
    const history = jsonOf<{ agentId: string; finishReason: string }[]>(
      await paglets(["jobs", "history", "--json", ...entry]),
    );
    assertEquals(history.find((u) => u.agentId === quick)?.finishReason, "released");
    assert(history.filter((u) => busy.includes(u.agentId)).every((u) => u.finishReason === "cancelled"));
  });
});
