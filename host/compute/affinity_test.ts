import assert from "node:assert/strict";
import {
  affinitySupport,
  currentThreadCpus,
  eligibleCpuIds,
  parseCpuList,
  pinCurrentThread,
  readCpusAllowedList,
  threadId,
} from "./affinity.ts";

const linux = Deno.build.os === "linux";

Deno.test("kernel cpu lists parse into ascending ids", () => {
  assert.deepEqual(parseCpuList("0-1,3"), [0, 1, 3]);
  assert.deepEqual(parseCpuList(" 4,2-3,2\n"), [2, 3, 4]);
  assert.deepEqual(parseCpuList("7"), [7]);
  assert.deepEqual(parseCpuList(""), []);
  assert.throws(() => parseCpuList("0-1,x"), /'x' is not a cpu or range/);
});

Deno.test({
  name: "the process's eligible CPUs match Cpus_allowed_list of the main thread",
  ignore: !linux,
  fn() {
    const status = Deno.readTextFileSync("/proc/self/status");
    const list = /^Cpus_allowed_list:\s*(.*)$/m.exec(status)![1];
    assert.deepEqual(eligibleCpuIds(), parseCpuList(list));
    const tid = threadId()!;
    assert.ok(Deno.statSync(`/proc/self/task/${tid}`).isDirectory, "the tid is a thread of this process");
    assert.deepEqual(readCpusAllowedList(), parseCpuList(list));
    assert.deepEqual(affinitySupport(), { supported: true });
  },
});

Deno.test({
  name: "pinning the calling thread shows in its own Cpus_allowed_list and can be undone",
  ignore: !linux,
  fn() {
    const original = currentThreadCpus()!;
    const target = original[original.length - 1];
    try {
      const pinned = pinCurrentThread([target]);
      assert.deepEqual(pinned, { supported: true, enforced: true, appliedCpuIds: [target] });
      assert.deepEqual(currentThreadCpus(), [target]);
      assert.deepEqual(readCpusAllowedList(threadId()), [target]);
    } finally {
      assert.equal(pinCurrentThread(original).enforced, true);
    }
    assert.deepEqual(currentThreadCpus(), original);
  },
});

Deno.test({
  name: "bad cpu ids are reported, never thrown",
  ignore: !linux,
  fn() {
    const before = currentThreadCpus();
    assert.match(pinCurrentThread([]).error!, /'cpuIds' is invalid: the list is empty/);
    assert.match(pinCurrentThread([-1]).error!, /-1 is not a cpu id/);
    assert.match(pinCurrentThread([1.5]).error!, /1.5 is not a cpu id/);
    const offline = pinCurrentThread([4000]);
    assert.equal(offline.supported, true);
    assert.equal(offline.enforced, false);
    assert.match(offline.error!, /sched_setaffinity\(0, \[4000\]\) failed: errno 22 \(EINVAL\)/);
    assert.deepEqual(currentThreadCpus(), before, "a failed pin leaves the mask alone");
  },
});

Deno.test("an unknown thread has no Cpus_allowed_list", () => {
  assert.equal(readCpusAllowedList(2 ** 31 - 1), undefined);
});

Deno.test({
  name: "affinity support is a real call, probed once; without FFI it says why",
  ignore: !linux,
  async fn() {
    const support = affinitySupport();
    assert.deepEqual(support, { supported: true });
    assert.equal(affinitySupport(), support, "probed once");
    // A process without FFI permission cannot pin: it reports that instead of throwing.
    const script = await Deno.makeTempFile({ suffix: ".ts" });
    try {
      await Deno.writeTextFile(
        script,
        `import { affinitySupport } from ${
          JSON.stringify(new URL("./affinity.ts", import.meta.url).href)
        };\n` +
          "console.log(JSON.stringify(affinitySupport()));\n",
      );
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--quiet", "--no-config", "--allow-read", script],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.success, true, new TextDecoder().decode(out.stderr));
      const answer = JSON.parse(new TextDecoder().decode(out.stdout));
      assert.equal(answer.supported, false);
      assert.match(answer.error, /^cpu affinity: /);
    } finally {
      await Deno.remove(script);
    }
  },
});
