import { assertEquals } from "../../tests/helpers/assert.ts";
import { busyPercent, parseProcStat } from "./cpu.ts";
import { parseStatLine } from "./processes.ts";
import { parseNvidiaSmi } from "./system.ts";

Deno.test("/proc/stat: busy excludes idle and iowait; btime is the boot time", () => {
  const stat = parseProcStat(
    "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 60 0 20 400 20 0 0 0 0 0\ncpu1 40 0 30 400 30 0 0 0 0 0\nbtime 1700000000\n",
  );
  assertEquals(stat.all, { busy: 150, total: 1000 });
  assertEquals(stat.perCpu.length, 2);
  assertEquals(stat.bootTime, 1_700_000_000_000);
});

Deno.test("CPU busy percent between two readings; none when no time passed", () => {
  assertEquals(busyPercent({ busy: 100, total: 1000 }, { busy: 175, total: 1100 }), 75);
  assertEquals(busyPercent({ busy: 100, total: 1000 }, { busy: 100, total: 1000 }), null);
});

Deno.test("a /proc/<pid>/stat line with spaces and parentheses in the name", () => {
  const fields = Array.from({ length: 40 }, (_, i) => String(i + 4)); // field 4 onwards
  fields[14 - 4] = "7"; // utime
  fields[15 - 4] = "3"; // stime
  fields[22 - 4] = "500"; // starttime
  const line = `42 (my (odd) name) S ${fields.join(" ")}`;
  assertEquals(parseStatLine(line), {
    pid: 42,
    name: "my (odd) name",
    state: "S",
    cpuTicks: 10,
    startTicks: 500,
  });
});

Deno.test("nvidia-smi CSV rows become GPU readings; [N/A] becomes null", () => {
  assertEquals(parseNvidiaSmi("0, NVIDIA A100, 35, 1024, 40960\n1, NVIDIA T4, [N/A], 0, 15360\n"), [
    { index: 0, name: "NVIDIA A100", utilizationPercent: 35, memoryUsedMb: 1024, memoryTotalMb: 40960 },
    { index: 1, name: "NVIDIA T4", utilizationPercent: null, memoryUsedMb: 0, memoryTotalMb: 15360 },
  ]);
});
