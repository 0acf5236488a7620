/**
 * A group whose submission is cut short, with real host processes: `paglets run` interrupted
 * (Ctrl-C) or killed while it creates a group's jobs. Interrupted, the script tells the collector
 * at once that no more jobs come; killed, it says nothing, and the collector gives the silent
 * submission up after its timeout. Either way the group completes: the jobs created report their
 * results, the others fail at stage `create`.
 */
import type { AgentRef } from "../../agents/context.ts";
import type { GroupSummary } from "../../agents/job_groups/contract.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { jsonOf, paglets, pagletsCommand } from "../helpers/cli.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { FAST } from "./helpers.ts";

const SCRIPT = new URL("./fixtures/stalling_group.ts", import.meta.url).pathname;

/** The first line a child prints; fails with its stderr when it ends first. */
async function firstLine(child: Deno.ChildProcess, stderr: Promise<string>): Promise<string> {
  let text = "";
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    text += chunk;
    const end = text.indexOf("\n");
    if (end >= 0) return text.slice(0, end);
  }
  throw new Error(`the script ended without a line: stdout ${text}; stderr ${await stderr}`);
}

function keys(from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `stalling-${String(from + i).padStart(4, "0")}`);
}

for (
  const [signal, timeoutSeconds, status] of [
    // Interrupted: told at once, so a submission timeout of 300 s never comes into play.
    ["SIGINT", 300, "SUBMITTED"],
    // Killed: nothing is said; the collector gives up after 2 s of silence.
    ["SIGKILL", 2, "CUT_SHORT"],
  ] as const
) {
  Deno.test(`a group whose paglets run gets ${signal} halfway through its submission completes with what was created`, async () => {
    let child: Deno.ChildProcess | null = null;
    try {
      const host = await startHost({ name: "solo", env: FAST, args: ["--gossip-interval-ms", "200"] });
      // 40 jobs, of which the first 10 are created.
      child = pagletsCommand(["run", SCRIPT, "--entry", host.url, "--", "40", "10", String(timeoutSeconds)])
        .spawn();
      const stderr = new Response(child.stderr).text();
      const { collector } = JSON.parse(await firstLine(child, stderr)) as { collector: AgentRef };
      child.kill(signal);
      const exit = await child.status;
      child = null;
      if (signal === "SIGINT") {
        assertEquals(exit.code, 130, await stderr);
        assert((await stderr).includes("[interrupted]"), await stderr);
      } else {
        assert(!exit.success, "the script was cut short");
      }

      let last: GroupSummary | null = null;
      const summary = await eventually(
        "the group to complete with the results of its 10 created jobs",
        async () => {
          last = await host.client.send(collector.id, { kind: "drain" }) as GroupSummary;
          return last.complete && last.completedCount === 10 && last;
        },
        60_000,
        200,
      ).catch((err) => {
        const { results: _r, expectedJobs: _e, ...rest } = last ?? { results: {}, expectedJobs: {} };
        throw new Error(`${(err as Error).message}; last summary: ${JSON.stringify(rest)}`);
      });
      assertEquals(summary.status, "COMPLETE");
      assertEquals(summary.submissionStatus, status);
      assertEquals(Object.keys(summary.results).sort(), keys(1, 10));
      assertEquals(Object.keys(summary.failures).sort(), keys(11, 40));
      for (const failure of Object.values(summary.failures)) {
        assertEquals(failure.stage, "create");
        assert(
          failure.error?.startsWith("the submission ended before this job was created"),
          failure.error,
        );
      }
      assertEquals(summary.duplicateCount, 0);
      assert(keys(1, 10).every((k) => summary.expectedJobs[k].agentId), "the created jobs were registered");

      const listed = jsonOf<GroupSummary[]>(
        await paglets(["jobs", "groups", "--entry", host.url, "--group", "stalling", "--json"]),
      );
      assertEquals(
        listed.map((g) => [g.status, g.completedCount, g.failedCount, g.pendingCount]),
        [["COMPLETE", 10, 30, 0]],
      );
      if (signal === "SIGKILL") {
        const table = await paglets(["jobs", "groups", "--entry", host.url, "--group", "stalling"]);
        assert(table.stdout.includes("submission cut short"), table.stdout);
      }
    } finally {
      child?.kill("SIGKILL");
      await child?.status;
      await stopAll();
    }
  });
}
