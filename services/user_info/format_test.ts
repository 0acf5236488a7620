import { assertEquals } from "../../tests/helpers/assert.ts";
import { formatNotification } from "./format.ts";

const at = new Date(2025, 0, 2, 3, 4, 5).getTime();

Deno.test("a notification prints in the original's one-line format", () => {
  assertEquals(
    formatNotification({
      at,
      severity: "warning",
      title: "Disk low",
      text: "5% left",
      jobId: "j-7",
      sourceAgentId: "ag_1",
    }),
    "[2025-01-02 03:04:05] WARNING: Disk low job=j-7 source=ag_1: 5% left",
  );
});

Deno.test("a notification without job, source or message omits those parts", () => {
  assertEquals(
    formatNotification({ at, severity: "info", title: "Done", text: "", jobId: null, sourceAgentId: null }),
    "[2025-01-02 03:04:05] INFO: Done",
  );
});
