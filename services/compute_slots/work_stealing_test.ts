import assert from "node:assert/strict";
import type { Redirect, SlotDecision } from "./decisions.ts";
import type { SlotRequestInput } from "./request.ts";
import { SlotScheduler, type SlotSchedulerOptions } from "./scheduler.ts";
import { redirectBudget } from "./scheduler_options.ts";
import { hostSample, peerStatus, SimulatedClock, slotRequest } from "./test_fixtures.ts";

function host(
  clock: SimulatedClock,
  name: string,
  options: Partial<SlotSchedulerOptions> & { cpus?: number; tags?: string[] } = {},
) {
  const { cpus = 2, tags = [], ...rest } = options;
  const scheduler = new SlotScheduler({
    host: hostSample({ cpus, tags, hostName: name, hostUrl: `http://${name}:8765`, observedAt: clock.ms }),
    now: clock.now,
    ...rest,
  });
  const ask = (input: Partial<SlotRequestInput> = {}) => {
    const request = slotRequest(clock, input);
    return { request, decision: scheduler.request(request) };
  };
  /** Fills every CPU with one lease. */
  const fill = () =>
    assert.equal(ask({ cpuCores: cpus, agentId: `${name}-filler` }).decision.decision, "run_now");
  return { scheduler, ask, fill };
}

function targets(redirects: Redirect[]): string[] {
  return redirects.map((r) => r.targetHostName);
}

Deno.test("the redirect budget keeps a local anchor and is bounded by fraction and count", () => {
  const budgets = [0, 1, 2, 3, 4, 5, 10, 100].map((n) => redirectBudget(n, 0.5, 4));
  assert.deepEqual(budgets, [0, 1, 1, 2, 2, 3, 4, 4]);
  assert.equal(redirectBudget(10, 0.5, 0), 0);
});

Deno.test("a lone waiter may leave, but of two waiters the newest stays local", () => {
  const clock = new SimulatedClock();
  const a = host(clock, "a");
  a.fill();
  a.scheduler.observePeer(peerStatus("b", { cpus: 8 }));
  clock.advance(1);
  const lone = a.ask({ agentId: "lone" });
  // A lone waiter is redirected straight from request() when a peer can run it now.
  assert.equal(lone.decision.decision, "redirect");

  const c = host(clock, "c");
  c.fill();
  const old = c.ask().request;
  const young = c.ask().request;
  c.scheduler.observePeer(peerStatus("d", { cpus: 8 }));
  const pass = c.scheduler.pass();
  assert.deepEqual(pass.redirects.map((r) => r.requestId), [old.requestId]);
  assert.deepEqual(c.scheduler.status().queue.map((q) => q.request.requestId), [young.requestId]);
});

Deno.test("one pass redirects at most the budget, oldest first", () => {
  const clock = new SimulatedClock();
  const a = host(clock, "a");
  a.fill();
  const waiters = Array.from({ length: 10 }, () => a.ask().request);
  a.scheduler.observePeer(peerStatus("big", { cpus: 64 }));
  const { redirects } = a.scheduler.pass();
  assert.deepEqual(redirects.map((r) => r.requestId), waiters.slice(0, 4).map((w) => w.requestId));
  assert.equal(a.scheduler.hostStatus().queueLength, 6);
});

Deno.test("redirects go only to fresh peers that can run the request now", () => {
  const clock = new SimulatedClock();
  const a = host(clock, "a", { peerMaxAgeMs: 20_000, tags: ["linux"] });
  const linux = ["linux"];
  a.fill();
  a.ask({ requiredHostTags: linux });
  a.ask({ requiredHostTags: linux });
  a.scheduler.observePeer(peerStatus("stale", { cpus: 8, tags: linux }));
  clock.advance(20_001);
  a.scheduler.observePeer(peerStatus("full", { cpus: 8, free: 0, tags: linux }));
  a.scheduler.observePeer(peerStatus("broken", { cpus: 8, errors: ["sample failed"], tags: linux }));
  a.scheduler.observePeer(peerStatus("untagged", { cpus: 8 }));
  assert.deepEqual(a.scheduler.pass().redirects, []);
  a.scheduler.observePeer(peerStatus("fresh", { cpus: 1, tags: linux }));
  assert.deepEqual(targets(a.scheduler.pass().redirects), ["fresh"]);
});

Deno.test("peers are ordered by queue length, then free cores, then score and name", () => {
  const clock = new SimulatedClock();
  const a = host(clock, "a");
  a.fill();
  a.ask();
  a.ask();
  a.scheduler.observePeer(peerStatus("queued", { cpus: 16, queueLength: 1 }));
  a.scheduler.observePeer(peerStatus("small", { cpus: 2 }));
  a.scheduler.observePeer(peerStatus("roomy", { cpus: 4 }));
  assert.deepEqual(targets(a.scheduler.pass().redirects), ["roomy"]);
});

Deno.test("shadow reservations spread several redirects of one pass over peers", () => {
  const clock = new SimulatedClock();
  const a = host(clock, "a", { maxRedirectsPerPass: 4 });
  a.fill();
  for (let i = 0; i < 7; i++) a.ask();
  a.scheduler.observePeer(peerStatus("b", { cpus: 2 }));
  a.scheduler.observePeer(peerStatus("c", { cpus: 1 }));
  const { redirects } = a.scheduler.pass();
  // b has most free cores, then b and c tie on one free core (name decides), then nothing is free.
  assert.deepEqual(targets(redirects), ["b", "b", "c"]);
  const shadowed = a.scheduler.status().peers.map((p) => [p.hostName, p.freeCpuCores, p.activeLeases]);
  assert.deepEqual(shadowed, [["b", 0, 2], ["c", 0, 1]]);
  assert.deepEqual(a.scheduler.pass().redirects, [], "nothing more until the peers report again");
  a.scheduler.observePeer(peerStatus("c", { cpus: 1, observedAt: 1 }));
  assert.deepEqual(targets(a.scheduler.pass().redirects), ["c"]);
});

Deno.test("shadows also spread redirects decided by request()", () => {
  const clock = new SimulatedClock();
  const a = host(clock, "a");
  a.fill();
  a.scheduler.observePeer(peerStatus("b", { cpus: 1 }));
  assert.equal(a.ask().decision.decision, "redirect");
  assert.equal(a.ask().decision.decision, "sleep");
});

Deno.test("a redirected request carries its redirect metadata", () => {
  const clock = new SimulatedClock();
  const a = host(clock, "a");
  a.fill();
  a.scheduler.observePeer(peerStatus("b"));
  const { request, decision } = a.ask();
  assert.equal(decision.decision, "redirect");
  const redirect = decision as Redirect & { decision: "redirect" };
  assert.equal(redirect.targetHostUrl, "http://b:8765");
  assert.equal(redirect.fromHostUrl, "http://a:8765");
  assert.deepEqual(
    [
      redirect.request.redirectCount,
      redirect.request.lastRedirectAt,
      redirect.request.lastRedirectFromHostUrl,
    ],
    [1, clock.ms, "http://a:8765"],
  );
  assert.equal(redirect.original, request);
});

Deno.test("the cooldown stops ping-pong between two hosts", () => {
  const clock = new SimulatedClock();
  const a = host(clock, "a", { redirectCooldownMs: 60_000 });
  const b = host(clock, "b", { redirectCooldownMs: 60_000 });
  a.fill();
  const bFiller = b.ask({ cpuCores: 2 }).decision as SlotDecision & { decision: "run_now" };
  // a heard from b before b filled up, so b looks idle to a.
  a.scheduler.observePeer(peerStatus("b"));
  const sent = a.ask().decision as Redirect & { decision: "redirect" };
  assert.equal(sent.decision, "redirect");
  // Meanwhile a frees up and says so; b gets the job but is full.
  a.scheduler.release("a-filler");
  b.scheduler.observePeer(a.scheduler.hostStatus());
  assert.equal(b.scheduler.request(sent.request).decision, "sleep", "just redirected: no bounce back");
  assert.deepEqual(b.scheduler.pass().redirects, []);
  clock.advance(59_999);
  b.scheduler.observePeer({ ...a.scheduler.hostStatus(), observedAt: clock.ms });
  assert.deepEqual(b.scheduler.pass().redirects, []);
  assert.equal(b.scheduler.nextDeadline(), clock.ms + 1);
  clock.advance(1);
  assert.deepEqual(targets(b.scheduler.pass().redirects), ["a"]);
  assert.equal(bFiller.lease.cpuCores, 2);
});

Deno.test("after the cooldown a peer other than the previous host is preferred", () => {
  const clock = new SimulatedClock();
  const b = host(clock, "b");
  b.fill();
  const request = slotRequest(clock, { lastRedirectAt: clock.ms, lastRedirectFromHostUrl: "http://a:8765/" });
  assert.equal(b.scheduler.request(request).decision, "sleep");
  clock.advance(60_000);
  b.scheduler.observePeer(peerStatus("a", { cpus: 16 }));
  b.scheduler.observePeer(peerStatus("c", { cpus: 2, load1: 1 }));
  assert.deepEqual(targets(b.scheduler.pass().redirects), ["c"]);
});

Deno.test("a request this host can never run goes to a peer that can, else is rejected", () => {
  const clock = new SimulatedClock();
  const a = host(clock, "a", { cpus: 2 });
  assert.equal(a.ask({ requiredHostTags: ["gpu-box"] }).decision.decision, "rejected");
  a.scheduler.observePeer(peerStatus("big", { cpus: 8, free: 0, tags: ["gpu-box"] }));
  const decision = a.ask({ cpuCores: 4 }).decision;
  assert.equal(decision.decision, "redirect", "it can only ever run on big, so it waits there");
  assert.match((decision as Redirect).reason, /cannot run here: needs 4 cpu cores/);
  assert.equal(a.ask({ requiresGpu: true }).decision.decision, "rejected");
});

Deno.test("an undelivered redirect is queued again and waits out a cooldown", () => {
  const clock = new SimulatedClock();
  const a = host(clock, "a");
  a.fill();
  a.scheduler.observePeer(peerStatus("b"));
  const decision = a.ask().decision as Redirect & { decision: "redirect" };
  a.scheduler.undoRedirect(decision);
  assert.deepEqual(a.scheduler.status().queue.map((q) => q.request.requestId), [decision.requestId]);
  assert.deepEqual(a.scheduler.pass().redirects, []);
});
