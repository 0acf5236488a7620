import assert from "node:assert/strict";
import { normalizeSlotRequest, sameOwner, SlotRequestError } from "./request.ts";

function rejection(input: unknown): SlotRequestError {
  try {
    normalizeSlotRequest(input);
  } catch (error) {
    assert.ok(error instanceof SlotRequestError, `expected SlotRequestError, got ${error}`);
    return error;
  }
  assert.fail("expected the request to be rejected");
}

Deno.test("a minimal request gets an id, one core, empty constraints and the clock's submission time", () => {
  const req = normalizeSlotRequest({ agentId: "a1" }, { now: () => 42 });
  assert.match(req.requestId, /^slot-request-[0-9a-f]{16}$/);
  assert.equal(req.cpuCores, 1);
  assert.equal(req.memoryBytes, 0);
  assert.equal(req.submittedAt, 42);
  assert.deepEqual(req.requiredHostTags, []);
  assert.equal(req.redirectCount, 0);
  assert.equal(req.lastRedirectAt, 0);
});

Deno.test("tags and host names become lower-case sorted sets and urls lose trailing slashes", () => {
  const req = normalizeSlotRequest({
    agentId: " a1 ",
    requiredHostTags: ["Linux", "avx2", "linux"],
    preferredHostTags: [" Fast-Disk "],
    excludedHostNames: ["Laptop", "laptop"],
    excludedHostUrls: ["http://b:8765/", " http://a:8765 "],
    agentHostUrl: "http://home:8765/",
  });
  assert.equal(req.agentId, "a1");
  assert.deepEqual(req.requiredHostTags, ["avx2", "linux"]);
  assert.deepEqual(req.preferredHostTags, ["fast-disk"]);
  assert.deepEqual(req.excludedHostNames, ["laptop"]);
  assert.deepEqual(req.excludedHostUrls, ["http://a:8765", "http://b:8765"]);
  assert.equal(req.agentHostUrl, "http://home:8765");
});

Deno.test("zero cores is rejected with a code and a message naming the value", () => {
  const error = rejection({ agentId: "a1", cpuCores: 0 });
  assert.equal(error.code, "invalid_cpu_cores");
  assert.equal(
    error.message,
    "Cannot accept slot request as 'cpuCores' must be an integer >= 1: current value is 0",
  );
});

Deno.test("fractional cores are rejected", () => {
  assert.equal(rejection({ agentId: "a1", cpuCores: 1.5 }).code, "invalid_cpu_cores");
});

Deno.test("negative memory and temp storage are rejected with their own codes", () => {
  const memory = rejection({ agentId: "a1", memoryBytes: -1 });
  assert.equal(memory.code, "invalid_memory_bytes");
  assert.match(memory.message, /'memoryBytes' must be an integer >= 0: current value is -1/);
  assert.equal(rejection({ agentId: "a1", tempStorageBytes: -5 }).code, "invalid_temp_storage_bytes");
  assert.equal(
    rejection({ agentId: "a1", estimatedRuntimeSeconds: -1 }).code,
    "invalid_estimated_runtime_seconds",
  );
});

Deno.test("a tag with bad syntax is rejected naming the tag", () => {
  const error = rejection({ agentId: "a1", requiredHostTags: ["linux", "GPU box!"] });
  assert.equal(error.code, "invalid_host_tag");
  assert.match(error.message, /'GPU box!' in 'requiredHostTags' is not a host tag/);
  assert.equal(rejection({ agentId: "a1", preferredHostTags: ["-dash-first"] }).code, "invalid_host_tag");
});

Deno.test("wrong types and missing agent ids say which field is wrong", () => {
  assert.equal(rejection({ cpuCores: 1 }).code, "invalid_agent_id");
  assert.match(rejection({ agentId: "a", cpuCores: "2" }).message, /'cpuCores'.*current value is '2'/);
  const notObject = rejection("cpuCores=2");
  assert.equal(notObject.code, "invalid_slot_request");
  assert.match(notObject.message, /must be an object: current value is 'cpuCores=2'/);
  const gpu = rejection({ agentId: "a", requiresGpu: "yes" });
  assert.equal(gpu.code, "invalid_field");
  assert.match(gpu.message, /^Cannot accept slot request as .requiresGpu. is invalid: .*boolean/);
});

Deno.test("GPU requests pass the schema (admission rejects them later)", () => {
  const req = normalizeSlotRequest({ agentId: "a1", requiresGpu: true, gpuMemoryMb: 8000 });
  assert.equal(req.requiresGpu, true);
  assert.equal(req.gpuMemoryMb, 8000);
});

Deno.test("owners match by request id, agent id or a non-empty job id", () => {
  const base = { requestId: "r1", agentId: "a1", jobId: "" };
  assert.ok(sameOwner(base, { requestId: "r1", agentId: "x", jobId: "" }));
  assert.ok(sameOwner(base, { requestId: "r2", agentId: "a1", jobId: "" }));
  assert.ok(!sameOwner(base, { requestId: "r2", agentId: "a2", jobId: "" }));
  assert.ok(sameOwner({ ...base, jobId: "j" }, { requestId: "r2", agentId: "a2", jobId: "j" }));
});
