"use strict";
// The wallboard: one "tick" message a second with the whole board (pushed, not polled);
// the charts (server-side SVG) refreshed every minute; agents' performance on demand.
const LABELS = { ready: "ready", reserved: "reserved", talking: "in call", wrap_up: "wrap-up",
  paused: "paused", unavailable: "unavailable" };
const $ = (id) => document.getElementById(id);

const forceCode = {};  // the forced-pause code chosen per campaign (kept across re-renders)

function notice(text) { $("notice").textContent = text || ""; }

async function act(method, path, body, done) {
  const res = await api(method, path, body);
  notice(res.ok ? done : (res.data && res.data.error) || ("error " + res.status));
}

function tile(parent, label, value, attr) {
  const t = el("div", null, { class: "tile", ...attr });
  t.appendChild(el("span", value, { class: "n" }));
  t.appendChild(el("span", label));
  parent.appendChild(t);
}

function pct(x) { return x === null || x === undefined ? "–" : (100 * x).toFixed(2) + " %"; }

function pacingText(c) {
  const p = c.pacing;
  if (!p) return "No pacing decision yet.";
  const s = c.stats || {};
  return "Lines wanted now: " + p.wants + " (the policy wants " + p.policy_wants + ", free lines " + p.free_lines +
    (p.line_cap !== null ? ", agent line cap " + p.line_cap : "") + "; limited by " + p.limited_by + "). " +
    "Agents ready " + p.ready + " of " + p.working + " working; ringing " + p.ringing + ", waiting " + p.waiting +
    ". Live answer rate " + pct(s.live_answer_rate) + ", mean talk " + duration(s.mean_talk_s || 0) +
    ", abandon budget left: " + c.abandon.abandon_budget_24h + " calls (24 h), " + c.abandon.abandon_budget_30d + " (30 days).";
}

function supplyText(c) {
  const s = c.supply;
  if (!s) return "Callable leads: not read yet.";
  const dry = s.runs_dry_at ? "the list runs dry around " + new Date(s.runs_dry_at).toLocaleString() + " at the recent dial rate"
    : "the list does not run dry in the next 24 h at the recent dial rate";
  return "Callable leads now: " + s.callable + " of " + s.total + "; " + dry +
    (s.held_most_by ? ". Most held back by: " + s.held_most_by + "." : ".");
}

function render(b) {
  const main = $("board");
  clear(main);
  const link = $("link");
  link.textContent = b.link_up ? "PBX link up" : "PBX link DOWN";
  link.dataset.state = b.link_up ? "ready" : "unavailable";
  for (const c of b.campaigns) {
    const sec = el("section", null, { class: "campaign", "data-campaign": c.name });
    const h = el("h2", c.name + " (" + c.mode + ") ");
    const pause = el("button", "Pause campaign", { type: "button", class: "danger", "data-action": "pause-campaign" });
    pause.addEventListener("click", () => act("POST", "/api/campaigns/" + encodeURIComponent(c.name) + "/pause", {},
      "Campaign " + c.name + " paused."));
    h.appendChild(pause);
    sec.appendChild(h);
    const counts = el("div", null, { class: "tiles" });
    for (const [state, n] of Object.entries(c.by_state)) tile(counts, LABELS[state] || state, n, { "data-state": state });
    const a = c.abandon || {};
    const t = c.today || {};  // from the calls table: the site's day, unchanged by a restart
    const calls = [["placed today", t.placed], ["answered today", t.answered], ["connected today", t.connected],
      ["abandoned today", t.abandoned], ["ringing", c.calls.ringing], ["waiting", c.calls.waiting], ["lines", c.calls.lines],
      ["abandon rate 24 h", (100 * c.abandon_rate_24h).toFixed(2) + " %"],
      ["abandon rate 30 days", pct(a.abandon_rate_30d)], ["abandon budget 24 h", a.abandon_budget_24h]];
    for (const [label, n] of calls) tile(counts, label, n, { "data-metric": label });
    sec.appendChild(counts);
    sec.appendChild(el("p", pacingText(c), { class: "pacing", "data-part": "pacing" }));
    sec.appendChild(el("p", supplyText(c), { class: "pacing", "data-part": "supply" }));
    if (c.idle_reason) sec.appendChild(el("p", "Why idle: " + c.idle_reason, { class: "idle" }));
    const codes = el("select", null, { "aria-label": "Pause code for a forced pause", "data-part": "force-code" });
    for (const code of c.pause_codes || []) codes.appendChild(el("option", code, { value: code }));
    if (forceCode[c.name]) codes.value = forceCode[c.name];
    codes.addEventListener("change", () => { forceCode[c.name] = codes.value; });
    const table = el("table", null, { class: "agents" });
    const head = el("tr");
    for (const t of ["agent", "state", "pause code", "time in state", "call", "actions"]) head.appendChild(el("th", t));
    table.appendChild(head);
    for (const ag of c.agents) {
      const tr = el("tr", null, { "data-agent": ag.name, "data-state": ag.state });
      tr.appendChild(el("td", ag.name));
      tr.appendChild(el("td", LABELS[ag.state] || ag.state));
      tr.appendChild(el("td", ag.pause_code || ""));
      tr.appendChild(el("td", duration(ag.seconds_in_state)));
      tr.appendChild(el("td", ag.call_id ? ag.lead + (ag.call_seconds !== null ? " · " + duration(ag.call_seconds) : "")
        : "", { "data-part": "call" }));
      const actions = el("td", null, { class: "actions" });
      const fp = el("button", "Pause", { type: "button", "data-action": "force-pause" });
      fp.addEventListener("click", () => act("POST", "/api/agents/" + encodeURIComponent(ag.name) + "/pause",
        { code: codes.value }, ag.name + " paused (" + codes.value + ")."));
      const fo = el("button", "Log out", { type: "button", "data-action": "force-logout" });
      fo.addEventListener("click", () => act("POST", "/api/agents/" + encodeURIComponent(ag.name) + "/logout", {},
        ag.name + " logged out."));
      actions.appendChild(fp);
      actions.appendChild(fo);
      tr.appendChild(actions);
      table.appendChild(tr);
    }
    const bar = el("p", "Forced pause code: ");
    bar.appendChild(codes);
    sec.appendChild(bar);
    sec.appendChild(table);
    main.appendChild(sec);
    ensureCharts(c.name);
  }
  if (!b.campaigns.length) main.appendChild(el("p", "No campaign is running."));
  const paused = $("paused-list");
  clear(paused);
  for (const name of b.paused_campaigns || []) {
    const btn = el("button", "Resume " + name, { type: "button", "data-resume": name });
    btn.addEventListener("click", () => act("POST", "/api/campaigns/" + encodeURIComponent(name) + "/resume", {},
      "Campaign " + name + " resumed."));
    paused.appendChild(btn);
  }
  $("paused-campaigns").hidden = !(b.paused_campaigns || []).length;
}

const CHARTS = ["hourly", "abandon", "talk", "agents"];
const charted = new Set();

function ensureCharts(name) {
  if (charted.has(name)) return;
  charted.add(name);
  const box = el("div", null, { class: "plots", "data-campaign": name });
  box.appendChild(el("h3", name));
  for (const kind of CHARTS) {
    const fig = el("figure");
    fig.appendChild(el("img", null, { alt: name + " " + kind, "data-chart": kind, width: "420", height: "180",
      src: chartUrl(name, kind) }));
    box.appendChild(fig);
  }
  $("chart-list").appendChild(box);
}

function chartUrl(name, kind) {
  return "/web/charts/" + encodeURIComponent(name) + "/" + kind + ".svg?t=" + Date.now();
}

setInterval(() => {
  for (const img of document.querySelectorAll("img[data-chart]")) {
    const name = img.closest(".plots").dataset.campaign;
    img.src = chartUrl(name, img.dataset.chart);
  }
}, 60000);

function range() {
  const q = new URLSearchParams();
  if ($("perf-since").value) q.set("since", $("perf-since").value + "T00:00:00+00:00");
  if ($("perf-until").value) q.set("until", $("perf-until").value + "T23:59:59+00:00");
  return q.toString();
}

async function showPerformance() {
  const q = range();
  $("perf-csv").href = "/web/agents-report.csv" + (q ? "?" + q : "");
  const res = await api("GET", "/web/agents-report" + (q ? "?" + q : ""));
  if (!res.ok) { notice((res.data && res.data.error) || ("error " + res.status)); return; }
  const body = $("perf-table").querySelector("tbody");
  clear(body);
  for (const a of res.data.agents) {
    const tr = el("tr", null, { "data-agent": a.agent });
    const paused = Object.entries(a.pause_by_code).map(([k, v]) => k + " " + duration(v)).join(", ");
    const refusals = Object.entries(a.refusals).map(([k, v]) => k + " " + v).join(", ");
    for (const v of [a.agent, a.calls, a.contacts, a.successes, (100 * a.conversion).toFixed(1) + " %",
      duration(a.aht_s), duration(a.talk_s), duration(a.wrapup_s), paused, refusals]) tr.appendChild(el("td", v));
    body.appendChild(tr);
  }
}
$("perf-form").addEventListener("submit", (ev) => { ev.preventDefault(); showPerformance(); });

async function showRecordings() {
  const res = await api("GET", "/web/recordings");
  if (!res.ok) return;
  const body = $("recordings-table").querySelector("tbody");
  clear(body);
  for (const r of res.data.recordings) {
    const tr = el("tr", null, { "data-call": String(r.call_id) });
    for (const v of [r.call_id, r.campaign, r.agent || "", (r.ended_at || "").replace("T", " ").slice(0, 19),
      r.disposition || ""]) tr.appendChild(el("td", String(v)));
    const td = el("td");
    td.appendChild(el("audio", null, { controls: "", preload: "none", src: r.url }));
    tr.appendChild(td);
    body.appendChild(tr);
  }
  $("recordings-none").hidden = res.data.recordings.length > 0;
}
setInterval(showRecordings, 60000);

const source = new EventSource("/web/events");
source.addEventListener("tick", (ev) => render(JSON.parse(ev.data)));
source.addEventListener("open", () => { document.body.dataset.live = "true"; });
source.addEventListener("error", () => { document.body.dataset.live = "false"; });
showPerformance();
showRecordings();
