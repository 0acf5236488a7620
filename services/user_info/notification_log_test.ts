import { assert, assertEquals } from "../../tests/helpers/assert.ts";
import { NotificationLog } from "./notification_log.ts";

const note = (text: string) => ({
  at: Date.now(),
  severity: "info" as const,
  title: "t",
  text,
  fields: {},
  sourceAgentId: null,
  jobId: null,
  hostName: "h",
});

Deno.test("the notification log keeps the newest within its count and its bytes", () => {
  const counted = new NotificationLog(3);
  for (let i = 0; i < 5; i++) counted.add(note(`n${i}`));
  assertEquals(counted.recent(0, 10).map((n) => n.text), ["n2", "n3", "n4"]);

  // Ten notifications of ~1 MiB against 4 MiB: the newest few stay, the count limit is not reached.
  const big = new NotificationLog(1000, 4 * 1024 * 1024);
  for (let i = 0; i < 10; i++) big.add(note(`${i}`.padEnd(1024 * 1024, "x")));
  const kept = big.recent(0, 1000);
  assert(kept.length >= 2 && kept.length <= 4, `${kept.length} kept`);
  assertEquals(kept.at(-1)!.id, 10);
  assert(big.bytes <= 4 * 1024 * 1024, `${big.bytes} bytes`);

  // One notification larger than the bound is still kept: the newest always is.
  const one = new NotificationLog(1000, 1024);
  one.add(note("a".repeat(4096)));
  assertEquals(one.recent(0, 10).length, 1);
});
