import { assertEquals, assertRejectsCode } from "../../tests/helpers/assert.ts";
import { ParkedSums } from "./hosted_assembly.ts";

const sums = (n: bigint) => ({ P: n, Q: n + 1n, T: -n });

Deno.test("parked sums are handed out once, per assembly, and dropped with it", async () => {
  const parked = new ParkedSums<unknown>();
  const h1 = parked.park("job-a", { sums: sums(1n) });
  const h2 = parked.park("job-a", { sums: sums(2n), ratio: { bits: 64, value: 5n } });
  const h3 = parked.park("job-b", { sums: sums(3n) });
  assertEquals(parked.size, 3);
  assertEquals(parked.take("job-a", h2), { sums: sums(2n), ratio: { bits: 64, value: 5n } });
  const take = (key: string, handle: string) => () => Promise.resolve().then(() => parked.take(key, handle));
  await assertRejectsCode(take("job-a", h2), "not_found"); // handed out already
  await assertRejectsCode(take("job-a", h3), "not_found"); // another job's
  parked.drop("job-a");
  await assertRejectsCode(take("job-a", h1), "not_found");
  assertEquals(parked.size, 1);
  parked.clear();
  assertEquals(parked.size, 0);
});
