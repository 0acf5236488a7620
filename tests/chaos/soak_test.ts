/**
 * The soak (scripts/soak.ts) for 2 minutes (`PAGLETS_SOAK_SECONDS` to change): mixed load on a
 * 3-host mesh answers every call with success, and no host's open fds, memory or database grow
 * without bound. Longer runs by hand: `deno run -A scripts/soak.ts --seconds 3600`.
 */
import { assert } from "../helpers/assert.ts";
import { runSoak, type SoakSample } from "../../scripts/soak.ts";

const SECONDS = Number(Deno.env.get("PAGLETS_SOAK_SECONDS") ?? 120);

Deno.test(`a ${SECONDS} s soak of mixed load on a 3-host mesh: no errors, no fd, memory or database growth`, async () => {
  const { samples, operations, errors } = await runSoak({ seconds: SECONDS });
  console.log(`${operations} operations, ${errors.length} errors`);
  assert(errors.length === 0, `errors under load:\n${errors.join("\n")}`);
  for (const host of new Set(samples.map((s) => s.host))) {
    const mine = samples.filter((s) => s.host === host);
    // After the first fifth the working set is built (workers started, agents at full population).
    const settled = mine.filter((s) => s.t >= SECONDS / 5);
    const first = settled[0], last = mine.at(-1)!;
    const peak = (key: keyof SoakSample) => Math.max(...settled.map((s) => s[key] as number));
    console.log(
      `${host}: rss ${first.rssMiB.toFixed(0)} → ${last.rssMiB.toFixed(0)} MiB (peak ${
        peak("rssMiB").toFixed(0)
      }), ` +
        `fds ${first.fds} → ${last.fds}, db ${first.sqliteMiB.toFixed(1)} → ${last.sqliteMiB.toFixed(1)} MiB`,
    );
    // Each client connection holds two fds (the TCP socket and the gate's relay to the server).
    assert(last.fds <= first.fds + 32, `${host}: open fds grew from ${first.fds} to ${last.fds}`);
    assert(
      peak("rssMiB") <= 2 * first.rssMiB,
      `${host}: memory grew from ${first.rssMiB} to ${peak("rssMiB")} MiB`,
    );
    assert(last.sqliteMiB <= 64, `${host}: the database grew to ${last.sqliteMiB} MiB`);
  }
});
