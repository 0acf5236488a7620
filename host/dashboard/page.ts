/**
 * The dashboard every host serves at `/` (docs/dashboard.md): every online host with its load and
 * memory over time, compute-slots queues and leases with CPU ids, compute jobs, job groups with
 * their progress, Runners, agents with their detail, the latest Pi job's digits and live events.
 * It reads the same HTTP API (`/v1/dashboard/mesh` gathers the other hosts, `/v1/dashboard/agents/:id`
 * asks one of them for an agent's record); the SSE stream makes it live, and is connected again when it
 * stays silent for three of the host's keepalives. The header says when what it shows is stale. Kept
 * as a module string so `deno compile` embeds it without extra files.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>paglets</title><link rel="icon" href="data:,">
<style>
 body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2430}
 header{background:#1d2430;color:#fff;padding:10px 18px;display:flex;gap:16px;align-items:baseline}
 header h1{font-size:18px;margin:0} header span{opacity:.75}
 main{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:14px;padding:14px}
 section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:10px 12px;overflow:auto;max-height:420px}
 h2{font-size:14px;margin:0 0 8px;text-transform:uppercase;letter-spacing:.04em;color:#4a5568}
 table{border-collapse:collapse;width:100%} td,th{padding:3px 6px;border-bottom:1px solid #eef0f3;text-align:left;font-variant-numeric:tabular-nums}
 .on{color:#15803d}.off{color:#b91c1c} .muted{color:#718096} td.note{color:#b91c1c}
 header span.stale{opacity:1;background:#b91c1c;color:#fff;padding:1px 8px;border-radius:3px} #events div{font-family:ui-monospace,monospace;font-size:12px;white-space:pre-wrap}
 .bar{display:inline-block;width:120px;height:9px;background:#eef0f3;border-radius:4px;overflow:hidden;vertical-align:middle;margin-right:6px}
 .bar i{display:block;height:100%;background:#15803d} .bar i.failed{background:#b91c1c}
 #key{display:none;padding:10px 18px;background:#fff3cd} #pi{font-family:ui-monospace,monospace;word-break:break-all;font-size:12px}
 svg.spark{vertical-align:middle;background:#f6f7f9;border-radius:3px} svg.spark polyline{fill:none;stroke-width:1.5}
 #detail pre{font-family:ui-monospace,monospace;font-size:12px;white-space:pre-wrap;margin:0} a.agent{cursor:pointer;color:#1d4ed8;text-decoration:underline}
</style></head><body>
<header><h1>paglets</h1><span id="who">…</span><span id="status" class="muted"></span><span id="live"></span></header>
<form id="key"><span id="keyMsg">This host needs an API key:</span> <input id="keyInput" type="password" size="40"> <button id="keyBtn" type="submit">Use key</button></form>
<main>
 <section style="grid-column:1/-1"><h2>Mesh hosts</h2><table id="hosts"></table></section>
 <section><h2>This host</h2><table id="host"></table></section>
 <section><h2>Compute slots (queue and leases)</h2><table id="slots"></table></section>
 <section style="grid-column:1/-1"><h2>Compute jobs</h2><table id="jobs"></table></section>
 <section style="grid-column:1/-1"><h2>Job groups</h2><table id="groups"></table></section>
 <section><h2>Runners</h2><table id="runners"></table></section>
 <section><h2>Agents</h2><table id="agents"></table></section>
 <section><h2>Agent detail</h2><div id="detail" class="muted">click an agent id</div></section>
 <section><h2>Services</h2><table id="services"></table></section>
 <section><h2>Pi digits</h2><div id="piJob" class="muted">no Pi job streaming</div><div id="pi"></div></section>
 <section style="grid-column:1/-1"><h2>Events (live)</h2><div id="events"></div></section>
</main>
<script>
const $ = (id) => document.getElementById(id);
const AGENTS_SHOWN = 200;
/** Data no refresh has brought for this long is stale (a refresh is due every 3 s). */
const STALE_AFTER_MS = 10000;
const clock = (t) => new Date(t).toLocaleTimeString();
// API keys are ASCII: a request header carries nothing else (typographic quotes pasted with a key, say).
const notAscii = (k) => /[^\\x20-\\x7e]/.exec(k);
function askKey(message) { $("keyMsg").textContent = message; $("key").style.display = "block"; }
function refuseKey(bad) {
  const c = bad[0], code = "U+" + c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0");
  askKey("API keys are ASCII, and this one has " + (c.trim() ? c + " " : "") + "(" + code + "): enter the key alone, without quotes:");
}
let key = sessionStorage.getItem("pagletsKey") || "";
const forgetKey = () => { key = ""; sessionStorage.removeItem("pagletsKey"); };
// A key kept by an older page that no header can carry is forgotten, and asked for again.
if (notAscii(key)) { const bad = notAscii(key); forgetKey(); refuseKey(bad); }
/** The request headers with the key; a key no header can carry is forgotten and asked for again. */
function headers() {
  const bad = notAscii(key);
  if (bad) { forgetKey(); refuseKey(bad); throw new Error("the API key is not ASCII"); }
  return key ? { authorization: "Bearer " + key } : {};
}
/** How long the page waits for an answer's head: every request of a refresh is bounded (see api). */
const ANSWER_WITHIN_MS = 10000;
/** GET \`path\` (or POST \`body\` as JSON to it) with the key, bounded in time; resolves with the answer's JSON. */
async function api(path, signal, body) {
  const sent = key;
  // Bounded: refreshes run one at a time, so one answer that never came would stop them all. The
  // slowest answer the page asks for, the mesh view with a hung peer, takes about 5 s.
  const bound = AbortSignal.timeout(ANSWER_WITHIN_MS);
  const init = body === undefined ? { headers: headers() }
    : { method: "POST", headers: { ...headers(), "content-type": "application/json" }, body: JSON.stringify(body) };
  const res = await fetch(path, { ...init, signal: signal ? AbortSignal.any([signal, bound]) : bound });
  // Only an answer to the key in use now says anything of it (a refresh may have left before it was
  // entered); a form that asks already while no key is in use keeps its question.
  if (res.status === 401) {
    if (sent === key && !(sent === "" && $("key").style.display === "block")) {
      askKey(sent ? "The API key is wrong; enter the host's key:" : "This host needs an API key:");
    }
    throw new Error("the API key is missing or wrong");
  }
  if (sent === key) $("key").style.display = "none";
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    throw new Error((body && body.error && body.error.message) || path + ": HTTP " + res.status);
  }
  return res.json();
}
const esc = (v) => String(v ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
function table(el, rows, cols) {
  el.innerHTML = "<tr>" + cols.map((c) => "<th>" + esc(c[1]) + "</th>").join("") + "</tr>" +
    rows.map((r) => "<tr>" + cols.map((c) => "<td>" + (c[2] ? c[2](r[c[0]], r) : esc(r[c[0]])) + "</td>").join("") + "</tr>").join("");
}
const bytes = (n) => n > 1e9 ? (n / 2 ** 30).toFixed(1) + " GiB" : (n / 2 ** 20).toFixed(0) + " MiB";
function spark(values, max, color) {
  if (values.length < 2) return '<span class="muted">collecting</span>';
  const w = 120, h = 28, top = Math.max(max, 1e-9);
  const pts = values.map((v, i) => (i * w / (values.length - 1)).toFixed(1) + "," + (h - 2 - (h - 4) * Math.min(v, top) / top).toFixed(1));
  return '<svg class="spark" width="' + w + '" height="' + h + '"><polyline stroke="' + color + '" points="' + pts.join(" ") + '"/></svg>';
}
/** An agent id that opens its detail; \`host\` names the host it is on when that is another one. */
const link = (id, host) => '<a class="agent" data-id="' + esc(id) + '"' + (host ? ' data-host="' + esc(host) + '"' : "") + ">" + esc(id) + "</a>";
let selfName = "";
let detail = null;
/** An agent's record: this host's, or through this host that of the mesh host \`where\` (a name or URL). */
function agentRecord(id, where) {
  return api(where && where !== selfName
    ? "/v1/dashboard/agents/" + encodeURIComponent(id) + "?host=" + encodeURIComponent(where)
    : "/v1/agents/" + encodeURIComponent(id));
}
async function showDetail(id, where) {
  const mine = detail = { id, where: where || "" };
  const el = $("detail");
  const shown = (html) => { if (detail === mine) { el.classList.remove("muted"); el.innerHTML = html; } };
  let r, moved = "";
  try {
    r = await agentRecord(id, mine.where);
    // Only a forwarding record there: the agent lives on another host now, whose record is asked (a few hops at most).
    for (let hops = 0; r.status === undefined && r.movedTo && hops < 3; hops++) {
      const to = r.movedTo;
      moved += "<p>" + esc(id) + " moved to " + esc(to) + ".</p>";
      try { r = await agentRecord(id, to); }
      catch (err) { return shown(moved + "<p>That host did not give its record: " + esc(err.message || err) + "</p>"); }
    }
  } catch (err) { return shown("<p>" + esc(id) + (mine.where ? " on " + esc(mine.where) : "") + ": " + esc(err.message || err) + "</p>"); }
  if (r.status === undefined) return shown(moved + "<p>The hosts asked keep only where it went.</p>");
  const mailbox = r.mailbox ? r.mailbox.queued + " queued, " + r.mailbox.delivered + " delivered" + (r.mailbox.busy ? ", busy" : "") : "-";
  shown(moved + "<table>" + [["id", r.id], ["type", r.type], ["status", r.status + (r.transition ? " (" + r.transition + " under way)" : "")], ["host", r.hostName || r.host],
    ["mailbox", mailbox], ["queued while inactive", r.queuedMessages], ["moved to", r.movedTo || "-"]]
    .map((kv) => "<tr><th>" + esc(kv[0]) + "</th><td>" + esc(kv[1] ?? "-") + "</td></tr>").join("") + "</table>" +
    "<h2>state</h2><pre>" + esc(JSON.stringify(r.state ?? null, null, 2)) + "</pre>");
}
document.addEventListener("click", (e) => { const a = e.target.closest && e.target.closest("a.agent"); if (a) showDetail(a.dataset.id, a.dataset.host || ""); });
// The header says plainly when what the page shows is stale: the last refresh failed, or none came for a while.
const pageStart = Date.now();
let updatedAt = 0, refreshError = "";
function showStatus() {
  const el = $("status");
  const overdue = Date.now() - (updatedAt || pageStart) > STALE_AFTER_MS;
  if (!refreshError && !overdue) {
    el.className = "muted";
    el.textContent = updatedAt ? "updated " + clock(updatedAt) : "";
    return;
  }
  el.className = "stale";
  el.textContent = (updatedAt ? "stale since " + clock(updatedAt) : "no data yet") + " — " + (refreshError || "host not answering");
}
/** Why a refresh failed, as the header says it: a request that got no answer is the host not answering. */
const whyFailed = (err) => err && ["TypeError", "TimeoutError", "AbortError"].includes(err.name) ? "host not answering" : String((err && err.message) || err);
let refreshing = null;
let refreshAgain = false;
/**
 * One refresh at a time: a host slow to answer is not asked again meanwhile, and one asked for
 * during a refresh follows it half a second later (events that keep coming do not make the page
 * ask the host back to back: each refresh reads its mesh, jobs and agents).
 */
function refresh() {
  if (refreshing) { refreshAgain = true; return refreshing; }
  refreshing = refreshOnce().finally(() => {
    refreshing = null;
    if (refreshAgain) { refreshAgain = false; refreshSoon(); }
  });
  return refreshing;
}
async function refreshOnce() {
  try {
    const host = await api("/v1/host");
    selfName = host.name;
    $("who").textContent = host.name + " · " + host.url + " · paglets " + host.version + " · mesh " + host.meshVersion;
    table($("host"), [
      { k: "CPUs", v: host.cpuCount }, { k: "load (1/5/15)", v: [host.load1, host.load5, host.load15].map((x) => x.toFixed(2)).join(" / ") },
      { k: "memory available", v: bytes(host.memAvailable) + " of " + bytes(host.memTotal) }, { k: "disk free", v: bytes(host.diskFree) },
      { k: "agents", v: host.agents.active + " active, " + host.agents.inactive + " inactive, " + host.agents.crashed + " crashed" },
      { k: "CPU affinity", v: host.affinitySupported ? "supported" : "not supported" }, { k: "uptime", v: host.uptimeS + " s" },
    ], [["k", ""], ["v", ""]]);
    const [mesh, view] = await Promise.all([api("/v1/mesh/hosts").catch(() => ({ hosts: [] })), api("/v1/dashboard/mesh")]);
    const views = new Map(view.hosts.map((v) => [v.name, v]));
    table($("hosts"), mesh.hosts.length ? mesh.hosts : view.hosts.map((v) => ({ name: v.name, url: v.url, online: v.ok, state: "online" })), [
      ["name", "name"], ["url", "url"],
      ["online", "state", (v, r) => v && r.state !== "displaced" ? '<span class="on">online</span>' : '<span class="off">' + esc(r.state || "offline") + "</span>"],
      ["cpuCount", "CPUs"], ["version", "version", (v) => esc(v || "")],
      ["name", "load (1 min)", (n) => { const h = (views.get(n) || {}).history || []; const l = h.map((x) => x.load1);
        return spark(l, Math.max(1, ...l), "#1d4ed8") + " " + (l.length ? l[l.length - 1].toFixed(2) : ""); }],
      ["name", "memory used", (n) => { const h = (views.get(n) || {}).history || [];
        return spark(h.map((x) => x.memUsedBytes / x.memTotalBytes), 1, "#15803d") + " " + (h.length ? Math.round(100 * h[h.length - 1].memUsedBytes / h[h.length - 1].memTotalBytes) + "%" : ""); }],
      ["tags", "tags", (v) => esc((v || []).join(", "))]]);
    // What the panels of every host lack: hosts that did not answer this host, and members not online (not asked).
    const silent = view.hosts.filter((v) => !v.ok).map((v) => esc(v.name) + " (" + esc(v.error || "no answer") + ")");
    const notOnline = mesh.hosts.filter((h) => !h.online && !h.self && !views.has(h.name)).map((h) => esc(h.name) + " (" + esc(h.state || "offline") + ")");
    const missing = (cols) => (silent.length ? '<tr><td colspan="' + cols + '" class="note">not answering: ' + silent.join(", ") + "</td></tr>" : "") +
      (notOnline.length ? '<tr><td colspan="' + cols + '" class="note">not asked, not online: ' + notOnline.join(", ") + "</td></tr>" : "");
    const where = silent.length || notOnline.length ? "on the hosts that answered" : "in the mesh";
    const slotRows = [];
    for (const v of view.hosts) {
      const s = v.slots; if (!s) continue;
      const leases = (s.leases || []).map((l) => link(l.agentId, v.name) + " cpus " + esc((l.cpuIds || []).join(",")) + (l.running ? " running" : " granted")).join("<br>");
      const queue = (s.queue || []).map((q) => link(q.request.agentId, v.name) + " (" + q.request.cpuCores + " cores)").join("<br>");
      slotRows.push({ host: v.name, free: s.host.freeCpuCores + "/" + s.host.eligibleCpuIds.length, leases: leases || "-", queue: queue || "-" });
    }
    table($("slots"), slotRows, [["host", "host"], ["free", "free cores"], ["leases", "leases (CPU ids)", (x) => x], ["queue", "queue", (x) => x]]);
    $("slots").insertAdjacentHTML("beforeend", missing(4));
    const jobs = view.hosts.flatMap((v) => (v.jobs || []).map((j) => ({ ...j, host: v.name })));
    if (jobs.length) table($("jobs"), jobs, [["host", "host"], ["agentId", "agent", (v, r) => link(v, r.host)], ["type", "type"], ["computeStatus", "compute"],
      ["cpuCores", "cores"], ["cpuCoreIds", "cpus", (v) => esc((v || []).join(","))], ["computeError", "error"]]);
    else $("jobs").innerHTML = '<tr><td class="muted">no compute job ' + where + "</td></tr>";
    $("jobs").insertAdjacentHTML("beforeend", missing(7));
    const runners = view.hosts.flatMap((v) => (v.runners || []).map((r) => ({ ...r, host: v.name })));
    if (runners.length) table($("runners"), runners, [["host", "host"], ["id", "executor", (v, r) => link(v, r.host)], ["status", "status"]]);
    else $("runners").innerHTML = '<tr><td class="muted">no Runner open ' + where + "</td></tr>";
    $("runners").insertAdjacentHTML("beforeend", missing(3));
    // One more than shown: the line that says there are more is there only when there are.
    const agents = await api("/v1/agents?limit=" + (AGENTS_SHOWN + 1));
    table($("agents"), agents.agents.slice(0, AGENTS_SHOWN), [["id", "id", (v) => link(v)], ["type", "type"], ["status", "status"], ["queuedMessages", "queued"]]);
    if (agents.agents.length > AGENTS_SHOWN) {
      $("agents").insertAdjacentHTML("beforeend", '<tr><td colspan="4" class="muted">the first ' + AGENTS_SHOWN + ' shown: <code>paglets agents ls</code> lists every one</td></tr>');
    }
    if (detail) showDetail(detail.id, detail.where);
    const services = await api("/v1/services").catch(() => ({ services: [] }));
    table($("services"), services.services, [["name", "name"], ["lifecycle", "lifecycle"], ["running", "running"], ["operations", "operations", (v) => esc((v || []).join(", "))]]);
    const groups = await api("/v1/services/compute-slots/groups", undefined, { allHosts: true }).catch(() => null);
    const gs = groups && groups.reply ? groups.reply.groups : [];
    const progress = (_, g) => {
      const done = g.completedCount + g.failedCount, pct = g.expectedCount ? Math.round(100 * done / g.expectedCount) : 0;
      return '<span class="bar"><i class="' + (g.failedCount ? "failed" : "") + '" style="width:' + pct + '%"></i></span>' + done + "/" + g.expectedCount + " (" + pct + "%)";
    };
    if (gs.length) table($("groups"), gs, [["groupId", "group"], ["status", "status"], ["expectedCount", "progress", progress],
      ["completedCount", "results"], ["failedCount", "failures"], ["pendingCount", "pending"], ["duplicateCount", "duplicates"],
      ["collector", "collector on", (v) => esc(v.hostName)]]);
    // Hosts whose groups are missing: those that did not answer the collecting host, and those not online.
    const groupSilent = ((groups && groups.reply && groups.reply.errors) || []).map((e) => esc(e.hostName) + " (" + esc(e.message || e.code) + ")");
    const groupsMissing = (groupSilent.length ? '<tr><td colspan="8" class="note">not answering: ' + groupSilent.join(", ") + "</td></tr>" : "") +
      (notOnline.length ? '<tr><td colspan="8" class="note">not asked, not online: ' + notOnline.join(", ") + "</td></tr>" : "");
    if (!gs.length) $("groups").innerHTML = '<tr><td class="muted">no job group ' + (groupsMissing ? "on the hosts that answered" : "in the mesh") + "</td></tr>";
    $("groups").insertAdjacentHTML("beforeend", groupsMissing);
    if (piJob.running) {
      const agentId = piJob.agentId, running = await piRunning(agentId);
      if (piJob.agentId === agentId && piJob.running) { piJob.running = running; showPi(); }
    }
    updatedAt = Date.now();
    refreshError = "";
  } catch (err) { refreshError = whyFailed(err); }
  showStatus();
}
// The Pi panel follows one job: the latest whose coordinator streams digits through user-info
// (user-stream events). A page that connects reads the digits the host's events still hold at once,
// and then only the chunks that come after: a job that ended is shown whole, not streamed again.
const PI_COORDINATOR = "examples.pi.coordinator";
const piJob = { id: "", agentId: "", text: "", running: false, upTo: 0 };
// A Pi job's chunk: streamed through user-info by a Pi coordinator of this host (the host names the
// paglet that called and its type; a call over HTTP has neither), under the job id \`examples pi\` reports.
const isPi = (e) => e.type === PI_COORDINATOR && !!e.agentId && !!e.data && typeof e.data.streamId === "string" && e.data.streamId !== "";
function showPi() {
  $("piJob").className = piJob.running ? "on" : "muted";
  $("piJob").textContent = !piJob.id ? "no Pi job streaming" : "job " + piJob.id + (piJob.running ? " running" : " finished");
  $("pi").textContent = piJob.text;
}
/** Whether the job still runs here: its coordinator is active and its state says running. */
async function piRunning(agentId) {
  try {
    const active = await api("/v1/agents?status=active&type=" + PI_COORDINATOR);
    if (!active.agents.some((a) => a.id === agentId)) return false;
    const r = await api("/v1/agents/" + encodeURIComponent(agentId));
    return r.status === "active" && (r.state || {}).status === "running";
  } catch { return false; }
}
/** The latest job's digits as the host's events hold them now, and whether it still runs. */
async function loadPi(signal) {
  const { events, lastId } = await api("/v1/events?kind=user-stream&limit=2000", signal);
  const pi = events.filter(isPi);
  const last = pi[pi.length - 1];
  const id = last ? last.data.streamId : "";
  const text = pi.filter((e) => e.data.streamId === id).map((e) => e.data.text || "").join("").slice(-4000);
  const agentId = last ? last.agentId : "";
  Object.assign(piJob, { id, agentId, text, running: last ? await piRunning(agentId) : false, upTo: lastId });
  showPi();
}
/** A chunk of digits that came after the page read them: the job streams now. */
function piChunk(e) {
  if (e.id <= piJob.upTo || !e.data.text) return;
  const id = e.data.streamId;
  if (id !== piJob.id) Object.assign(piJob, { id, agentId: e.agentId, text: "" });
  piJob.text = (piJob.text + e.data.text).slice(-4000);
  piJob.running = true;
  showPi();
}
let soon = 0;
/** Something happened (an event arrived): refresh within half a second, at most that often. */
function refreshSoon() { if (!soon) soon = setTimeout(() => { soon = 0; refresh(); }, 500); }
/** What the header says of the event stream: the host stops, or a stream that was connected is lost. */
function streamNote(text) { $("live").textContent = text; $("live").className = text ? "stale" : ""; }
/** The host's keepalive period, as its stream's answer names it (15 s until one does). */
let keepaliveMs = 15000;
let streamed = false, hostStopping = false;
async function stream() {
  // A stream silent for three keepalive periods is lost (a network that drops closes nothing): it is
  // given up and the page connects again, as \`paglets follow\` does. Bounded from the request on.
  const lost = new AbortController();
  let silence = 0;
  const heard = () => { clearTimeout(silence); silence = setTimeout(() => lost.abort(), 3 * keepaliveMs); };
  try {
    heard();
    await loadPi(lost.signal);
    const res = await fetch("/v1/events/stream?since=0", { headers: headers(), signal: lost.signal });
    if (!res.ok) throw new Error("HTTP " + res.status);
    const period = Number(res.headers.get("x-paglets-keepalive-ms"));
    keepaliveMs = period > 0 ? period : 15000;
    heard();
    streamed = true;
    hostStopping = false;
    streamNote("");
    // The stream starts with every event the host keeps: the list is built again from them.
    $("events").textContent = "";
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      heard();
      buf += value;
      let i;
      while ((i = buf.indexOf("\\n\\n")) >= 0) {
        const chunk = buf.slice(0, i); buf = buf.slice(i + 2);
        let name = "";
        const data = [];
        for (const l of chunk.split("\\n")) {
          if (l.startsWith("event:")) name = l.slice(6).trim();
          else if (l.startsWith("data:")) data.push(l.slice(l.startsWith("data: ") ? 6 : 5));
        }
        // A frame of the stream itself, not an event: the host begins to stop (the stream ends next).
        if (name === "host-stopping") { hostStopping = true; streamNote("host stopping"); continue; }
        if (!data.length) continue;
        let e;
        try { e = JSON.parse(data.join("\\n")); } catch { continue; }
        // Only an event is a line: it has an id and a kind, the kind its frame names.
        if (!e || typeof e.id !== "number" || typeof e.kind !== "string" || (name && name !== e.kind)) continue;
        if (e.kind === "user-stream" && isPi(e)) {
          piChunk(e);
          continue;
        }
        refreshSoon();
        const text = clock(e.at) + "  " + e.kind + (e.agentId ? "  " + e.agentId : "") + (e.error ? "  " + e.error : e.data ? "  " + JSON.stringify(e.data) : "");
        const line = document.createElement("div");
        line.textContent = text.length > 500 ? text.slice(0, 500) + " …" : text;
        $("events").prepend(line);
        while ($("events").childElementCount > 200) $("events").lastChild.remove();
      }
    }
  } catch { /* connect again below */ }
  clearTimeout(silence);
  lost.abort();
  if (streamed && !hostStopping) streamNote("live events lost: connecting again");
  setTimeout(stream, 2000);
}
// A form: Enter in the field uses the key, as the button does. A key no header can carry is refused, never kept.
$("key").onsubmit = (e) => {
  e.preventDefault();
  const entered = $("keyInput").value.trim();
  const bad = notAscii(entered);
  if (bad) return refuseKey(bad);
  key = entered;
  sessionStorage.setItem("pagletsKey", key);
  $("key").style.display = "none";
  refresh();
};
refresh(); setInterval(() => { if (!refreshing) refresh(); }, 3000); setInterval(showStatus, 1000); stream();
</script></body></html>`;
