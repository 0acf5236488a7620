/**
 * The dashboard every host serves at `/` (docs/dashboard.md): every online host with its load and
 * memory over time, compute-slots queues and leases with CPU ids, compute jobs, job groups with
 * their progress, Runners, agents with their detail, the latest Pi job's digits and live events.
 * It reads the same HTTP API (`/v1/dashboard/mesh` gathers the other hosts); the SSE stream makes
 * it live. Kept as a module string so `deno compile` embeds it without extra files.
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
 .on{color:#15803d}.off{color:#b91c1c} .muted{color:#718096} #events div{font-family:ui-monospace,monospace;font-size:12px;white-space:pre-wrap}
 .bar{display:inline-block;width:120px;height:9px;background:#eef0f3;border-radius:4px;overflow:hidden;vertical-align:middle;margin-right:6px}
 .bar i{display:block;height:100%;background:#15803d} .bar i.failed{background:#b91c1c}
 #key{display:none;padding:10px 18px;background:#fff3cd} #pi{font-family:ui-monospace,monospace;word-break:break-all;font-size:12px}
 svg.spark{vertical-align:middle;background:#f6f7f9;border-radius:3px} svg.spark polyline{fill:none;stroke-width:1.5}
 #detail pre{font-family:ui-monospace,monospace;font-size:12px;white-space:pre-wrap;margin:0} a.agent{cursor:pointer;color:#1d4ed8;text-decoration:underline}
</style></head><body>
<header><h1>paglets</h1><span id="who">…</span><span id="status" class="muted"></span></header>
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
let key = sessionStorage.getItem("pagletsKey") || "";
const headers = () => key ? { authorization: "Bearer " + key } : {};
async function api(path) {
  const sent = key;
  // Bounded: refreshes run one at a time, so one answer that never came would stop them all.
  const res = await fetch(path, { headers: headers(), signal: AbortSignal.timeout(30000) });
  // Only an answer to the key in use now says anything of it (a refresh may have left before it was entered).
  if (res.status === 401) {
    if (sent === key) {
      $("keyMsg").textContent = sent ? "The API key is wrong; enter the host's key:" : "This host needs an API key:";
      $("key").style.display = "block";
    }
    throw new Error("unauthorized");
  }
  if (sent === key) $("key").style.display = "none";
  if (!res.ok) throw new Error(path + ": HTTP " + res.status);
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
const link = (id) => '<a class="agent" data-id="' + esc(id) + '">' + esc(id) + "</a>";
let detailId = "";
async function showDetail(id) {
  detailId = id;
  try {
    const r = await api("/v1/agents/" + encodeURIComponent(id));
    $("detail").classList.remove("muted");
    if (r.status === undefined && r.movedTo) {
      // Only a forwarding record here: the agent lives on another host now.
      $("detail").innerHTML = "<p>" + esc(id) + " moved to " + esc(r.movedTo) + "; this host keeps only where it went.</p>";
      return;
    }
    const mailbox = r.mailbox ? r.mailbox.queued + " queued, " + r.mailbox.delivered + " delivered" + (r.mailbox.busy ? ", busy" : "") : "-";
    $("detail").classList.remove("muted");
    $("detail").innerHTML = "<table>" + [["id", r.id], ["type", r.type], ["status", r.status + (r.transition ? " (" + r.transition + " under way)" : "")], ["host", r.hostName || r.host],
      ["mailbox", mailbox], ["queued while inactive", r.queuedMessages], ["moved to", r.movedTo || "-"]]
      .map((kv) => "<tr><th>" + esc(kv[0]) + "</th><td>" + esc(kv[1] ?? "-") + "</td></tr>").join("") + "</table>" +
      "<h2>state</h2><pre>" + esc(JSON.stringify(r.state ?? null, null, 2)) + "</pre>";
  } catch (err) { $("detail").textContent = id + ": " + (err.message || err); }
}
document.addEventListener("click", (e) => { const a = e.target.closest && e.target.closest("a.agent"); if (a) showDetail(a.dataset.id); });
let refreshing = null;
let refreshAgain = false;
/** One refresh at a time: a host slow to answer is not asked again meanwhile, and one asked for during a refresh follows it. */
function refresh() {
  if (refreshing) { refreshAgain = true; return refreshing; }
  refreshing = refreshOnce().finally(() => {
    refreshing = null;
    if (refreshAgain) { refreshAgain = false; refresh(); }
  });
  return refreshing;
}
async function refreshOnce() {
  try {
    const host = await api("/v1/host");
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
    const slotRows = [];
    for (const v of view.hosts) {
      const s = v.slots; if (!s) continue;
      const leases = (s.leases || []).map((l) => esc(l.agentId) + " cpus " + esc((l.cpuIds || []).join(",")) + (l.running ? " running" : " granted")).join("<br>");
      const queue = (s.queue || []).map((q) => esc(q.request.agentId) + " (" + q.request.cpuCores + " cores)").join("<br>");
      slotRows.push({ host: v.name, free: s.host.freeCpuCores + "/" + s.host.eligibleCpuIds.length, leases: leases || "-", queue: queue || "-" });
    }
    table($("slots"), slotRows, [["host", "host"], ["free", "free cores"], ["leases", "leases (CPU ids)", (x) => x], ["queue", "queue", (x) => x]]);
    const jobs = view.hosts.flatMap((v) => (v.jobs || []).map((j) => ({ ...j, host: v.name })));
    if (jobs.length) table($("jobs"), jobs, [["host", "host"], ["agentId", "agent", link], ["type", "type"], ["computeStatus", "compute"],
      ["cpuCores", "cores"], ["cpuCoreIds", "cpus", (v) => esc((v || []).join(","))], ["computeError", "error"]]);
    else $("jobs").innerHTML = '<tr><td class="muted">no compute job in the mesh</td></tr>';
    const runners = view.hosts.flatMap((v) => (v.runners || []).map((r) => ({ ...r, host: v.name })));
    if (runners.length) table($("runners"), runners, [["host", "host"], ["id", "executor", link], ["status", "status"]]);
    else $("runners").innerHTML = '<tr><td class="muted">no Runner open</td></tr>';
    const agents = await api("/v1/agents?limit=" + AGENTS_SHOWN);
    table($("agents"), agents.agents, [["id", "id", link], ["type", "type"], ["status", "status"], ["queuedMessages", "queued"]]);
    if (agents.agents.length >= AGENTS_SHOWN) {
      $("agents").insertAdjacentHTML("beforeend", '<tr><td colspan="4" class="muted">the first ' + AGENTS_SHOWN + ' shown: <code>paglets agents ls</code> lists every one</td></tr>');
    }
    if (detailId) showDetail(detailId);
    const services = await api("/v1/services").catch(() => ({ services: [] }));
    table($("services"), services.services, [["name", "name"], ["lifecycle", "lifecycle"], ["running", "running"], ["operations", "operations", (v) => esc((v || []).join(", "))]]);
    const groups = await fetch("/v1/services/compute-slots/groups", { method: "POST", headers: { ...headers(), "content-type": "application/json" }, body: '{"allHosts":true}' })
      .then((r) => r.ok ? r.json() : null).catch(() => null);
    const gs = groups && groups.reply ? groups.reply.groups : [];
    const progress = (_, g) => {
      const done = g.completedCount + g.failedCount, pct = g.expectedCount ? Math.round(100 * done / g.expectedCount) : 0;
      return '<span class="bar"><i class="' + (g.failedCount ? "failed" : "") + '" style="width:' + pct + '%"></i></span>' + done + "/" + g.expectedCount + " (" + pct + "%)";
    };
    if (gs.length) table($("groups"), gs, [["groupId", "group"], ["status", "status"], ["expectedCount", "progress", progress],
      ["completedCount", "results"], ["failedCount", "failures"], ["pendingCount", "pending"], ["duplicateCount", "duplicates"],
      ["collector", "collector on", (v) => esc(v.hostName)]]);
    else $("groups").innerHTML = '<tr><td class="muted">no job group in the mesh</td></tr>';
    if (piJob.running) {
      const agentId = piJob.agentId, running = await piRunning(agentId);
      if (piJob.agentId === agentId && piJob.running) { piJob.running = running; showPi(); }
    }
    $("status").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (err) { $("status").textContent = String(err.message || err); }
}
// The Pi panel follows one job: the latest whose coordinator streams digits through user-info
// (user-stream events). A page that connects reads the digits the host's events still hold at once,
// and then only the chunks that come after: a job that ended is shown whole, not streamed again.
const PI_COORDINATOR = "examples.pi.coordinator";
const piJob = { id: "", agentId: "", text: "", running: false, upTo: 0 };
const streamOf = (e) => e.data.streamId || e.agentId || "";
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
async function loadPi() {
  const { events, lastId } = await api("/v1/events?kind=user-stream&limit=2000");
  const last = events[events.length - 1];
  const id = last ? streamOf(last) : "";
  const text = events.filter((e) => streamOf(e) === id).map((e) => e.data.text || "").join("").slice(-4000);
  const agentId = last ? last.agentId || id : "";
  Object.assign(piJob, { id, agentId, text, running: last ? await piRunning(agentId) : false, upTo: lastId });
  showPi();
}
/** A chunk of digits that came after the page read them: the job streams now. */
function piChunk(e) {
  if (e.id <= piJob.upTo || !e.data.text) return;
  const id = streamOf(e);
  if (id !== piJob.id) Object.assign(piJob, { id, agentId: e.agentId || id, text: "" });
  piJob.text = (piJob.text + e.data.text).slice(-4000);
  piJob.running = true;
  showPi();
}
let soon = 0;
/** Something happened (an event arrived): refresh within half a second, at most that often. */
function refreshSoon() { if (!soon) soon = setTimeout(() => { soon = 0; refresh(); }, 500); }
async function stream() {
  try {
    await loadPi();
    // The stream starts with every event the host keeps: the list is built again from them.
    $("events").textContent = "";
    const res = await fetch("/v1/events/stream?since=0", { headers: headers() });
    if (!res.ok) throw new Error("HTTP " + res.status);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += value;
      let i;
      while ((i = buf.indexOf("\\n\\n")) >= 0) {
        const chunk = buf.slice(0, i); buf = buf.slice(i + 2);
        const data = chunk.split("\\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\\n");
        if (!data) continue;
        const e = JSON.parse(data);
        if (e.kind === "user-stream" && e.data) {
          piChunk(e);
          continue;
        }
        refreshSoon();
        const line = document.createElement("div");
        line.textContent = new Date(e.at).toLocaleTimeString() + "  " + e.kind + (e.agentId ? "  " + e.agentId : "") + (e.error ? "  " + e.error : e.data ? "  " + JSON.stringify(e.data) : "");
        $("events").prepend(line);
        while ($("events").childElementCount > 200) $("events").lastChild.remove();
      }
    }
  } catch { /* reconnect below */ }
  setTimeout(stream, 2000);
}
// A form: Enter in the field uses the key, as the button does.
$("key").onsubmit = (e) => { e.preventDefault(); key = $("keyInput").value; sessionStorage.setItem("pagletsKey", key); $("key").style.display = "none"; refresh(); };
refresh(); setInterval(() => { if (!refreshing) refresh(); }, 3000); stream();
</script></body></html>`;
