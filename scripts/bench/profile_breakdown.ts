/**
 * Where a message's CPU goes on the host's main thread: reads a V8 CPU profile of a host under
 * load (`scripts/bench/message_cpu.ts --profile DIR`) and prints the sampled time of each stage of
 * the message path, in µs per message. Each function's own time is attributed to the first stage
 * whose rule matches its name or file, so the stages add up to the thread's busy time.
 *
 * Run: `deno run -A scripts/bench/profile_breakdown.ts PROFILE.cpuprofile MESSAGES`
 * (MESSAGES: the requests answered during the profile, as message_cpu.ts prints them).
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Stages of the path, in the order their rules are tried: [stage, function-name or file pattern]. */
const STAGES: [string, RegExp][] = [
  ["idle", /^\(idle\)$/],
  ["start-up (module loading, workers)", /op_load_ext_script|loadExtScript|op_create_worker|op_worker_/],
  ["garbage collection", /^\(garbage collector\)$/],
  ["port hop: postMessage (wakes the worker thread)", /op_message_port_post_message/],
  [
    "port hop: structured clone, events, batching",
    /serialize|deserialize|13_message_port|02_event\.js|port_rpc\.ts|worker_pool\.ts|worker_threads/,
  ],
  ["commit: SQLite", /^(exec|run|prepare|get isTransaction|close)$|agent_store\.ts|kysely|default-|sqlite/],
  ["commit: group commit, durability bookkeeping", /state_commits\.ts|durability\.ts/],
  ["body read and JSON decode", /body\.ts|wire\.ts|22_body\.js|consumeBody|op_http_.*body/],
  [
    "admission, validation, routing",
    /message_route\.ts|agent_routes\.ts|app\.ts|auth\.ts|ids\.ts|message\.ts|operations\.ts|types\.js|parseUtil\.js/,
  ],
  ["kernel: router, runtime, mailbox, reply deadline", /message_router|agent_runtime|mailbox|timeouts/],
  ["metrics", /host_metrics|registry\.ts/],
  [
    "HTTP server: request, headers, response",
    /00_serve|2\d_(response|headers|request)|op_http|webidl|connection_gate/,
  ],
  ["Hono (other routes)", /hono|compose\.js|router\.js|node\.js|url\.js|request\.js|context\.js/],
  [
    "event loop, timers, promises",
    /01_core|00_infra|02_timers|timers\.(ts|mjs)|op_now|op_immediate|async_id|^\(program\)/,
  ],
  ["other", /^/], // everything, an anonymous native entry (no name, no file) included
];

const [file, messagesArg] = Deno.args;
const messages = Number(messagesArg);
if (!file || !Number.isFinite(messages) || messages <= 0) {
  console.error("usage: profile_breakdown.ts PROFILE.cpuprofile MESSAGES");
  Deno.exit(2);
}
const profile = JSON.parse(await Deno.readTextFile(file)) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + profile.timeDeltas[i]));

const stageUs = new Map<string, number>();
const topOther = new Map<string, number>();
for (const [id, us] of selfUs) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  const where = url.split("/").at(-1);
  // Native functions (ops, SQLite, the VM's own entries) have no file.
  const key = where ? `${functionName} ${where}` : functionName;
  const stage = STAGES.find(([, rule]) => rule.test(key))![0];
  stageUs.set(stage, (stageUs.get(stage) ?? 0) + us);
  if (stage === "other") {
    topOther.set(`${key}:${lineNumber + 1}`, (topOther.get(`${key}:${lineNumber + 1}`) ?? 0) + us);
  }
}
const busy = [...stageUs].filter(([s]) => s !== "idle" && !s.startsWith("start-up")).reduce(
  (a, [, v]) => a + v,
  0,
);
console.log(
  `main thread, ${messages} messages: ${
    (busy / messages).toFixed(1)
  } µs busy per message (start-up excluded)`,
);
for (const [stage] of STAGES) {
  if (stage === "idle" || stage.startsWith("start-up")) continue;
  const us = stageUs.get(stage) ?? 0;
  console.log(
    `  ${stage.padEnd(52)} ${(us / messages).toFixed(1).padStart(6)} µs  ${
      (100 * us / busy).toFixed(0).padStart(3)
    }%`,
  );
}
const others = [...topOther].sort((a, b) => b[1] - a[1]).slice(0, 5);
if (others.length > 0) {
  console.log(
    `  other, largest: ${others.map(([k, v]) => `${k} ${(v / messages).toFixed(2)} µs`).join("; ")}`,
  );
}
