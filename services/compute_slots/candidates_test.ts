import assert from "node:assert/strict";
import { placementHash, rankCandidateHosts } from "./candidates.ts";
import { peerStatus, SimulatedClock, slotRequest } from "./test_fixtures.ts";

const clock = new SimulatedClock();
const selfUrl = "http://home:8765";

Deno.test("hosts that can run now come first, then by score; rejected hosts say why", () => {
  const statuses = [
    peerStatus("busy", { load1: 3 }),
    peerStatus("idle"),
    peerStatus("full", { free: 0 }),
    peerStatus("small", { cpus: 1 }),
    peerStatus("broken", { errors: ["disk sample failed"] }),
    peerStatus("home"),
  ];
  const ranked = rankCandidateHosts(slotRequest(clock, { cpuCores: 2 }), statuses, {
    selfUrl,
    includeSelf: false,
  });
  assert.deepEqual(ranked.candidates.map((c) => c.hostName), ["idle", "busy", "full"]);
  assert.equal(ranked.candidates[2].canRunNow, false);
  assert.match(ranked.candidates[2].waitReason!, /free cpu cores/);
  assert.deepEqual(
    ranked.rejected.map((r) => [r.hostName, r.reason]),
    [
      ["small", "needs 2 cpu cores, host has 1 eligible"],
      ["broken", "host status has errors: disk sample failed"],
      ["home", "self excluded"],
    ],
  );
});

Deno.test("preferred tags pull a host up the ranking", () => {
  const statuses = [peerStatus("a", { load1: 0.4 }), peerStatus("b", { load1: 0.8, tags: ["ssd"] })];
  const ranked = rankCandidateHosts(slotRequest(clock, { preferredHostTags: ["ssd"] }), statuses, {
    selfUrl,
  });
  assert.deepEqual(ranked.candidates.map((c) => c.hostName), ["b", "a"]);
});

Deno.test("the selected host is a deterministic pick among the best few", () => {
  const statuses = ["a", "b", "c", "d", "e"].map((n, i) => peerStatus(n, { load1: i }));
  const picks = new Set<string>();
  for (let i = 0; i < 40; i++) {
    const req = slotRequest(clock, { jobId: `job-${i}`, requestId: `r-${i}`, agentId: `a-${i}` });
    const first = rankCandidateHosts(req, statuses, { selfUrl, sampleSize: 3 }).selected!.hostName;
    const again =
      rankCandidateHosts(req, [...statuses].reverse(), { selfUrl, sampleSize: 3 }).selected!.hostName;
    assert.equal(first, again);
    picks.add(first);
  }
  assert.deepEqual([...picks].sort(), ["a", "b", "c"]);
  assert.equal(placementHash({ jobId: "j", requestId: "r", agentId: "a" }), 0x5bd1e974);
});

Deno.test("limit keeps the best candidates and no candidates means no selection", () => {
  const statuses = ["a", "b", "c"].map((n, i) => peerStatus(n, { load1: i }));
  assert.deepEqual(
    rankCandidateHosts(slotRequest(clock), statuses, { selfUrl, limit: 2 }).candidates.map((c) => c.hostName),
    ["a", "b"],
  );
  const none = rankCandidateHosts(slotRequest(clock, { requiredHostTags: ["gpu"] }), statuses, { selfUrl });
  assert.equal(none.selected, undefined);
  assert.equal(none.rejected.length, 3);
});

Deno.test("the newest status of a host wins when it appears twice", () => {
  const old = peerStatus("a", { free: 0, observedAt: 1 });
  const fresh = peerStatus("a", { free: 4, observedAt: 2 });
  const ranked = rankCandidateHosts(slotRequest(clock), [fresh, old], { selfUrl });
  assert.equal(ranked.candidates.length, 1);
  assert.equal(ranked.candidates[0].canRunNow, true);
});
