"use strict";
// The agent desktop: state bar, screen pop (pushed by Server-Sent Events), disposition form.
const NAME = document.querySelector('meta[name="agent"]').content;
const $ = (id) => document.getElementById(id);
const LABELS = { logged_out: "logged out", ready: "ready", reserved: "reserved for a callback",
  talking: "in call", wrap_up: "wrap-up", paused: "paused", unavailable: "unavailable" };
let stateSince = Date.now();
let currentState = "logged_out";
let wrapupLimit = 0;  // seconds: the wrap-up limit (the disposition is then decided by the rules)
let call = null;      // the screen pop shown (the API's call details)
let chosen = null;    // the disposition chosen

function notice(text) { $("notice").textContent = text || ""; }

function showState(state, code, secondsIn) {
  const node = $("state");
  node.dataset.state = state;
  node.textContent = (LABELS[state] || state) + (state === "paused" && code ? " (" + code + ")" : "");
  stateSince = Date.now() - (secondsIn || 0) * 1000;
  currentState = state;
  const loggedIn = state !== "logged_out";
  $("ready").disabled = !loggedIn || state === "ready";
  $("pause").disabled = !loggedIn;
  $("pause-code").disabled = !loggedIn;
  if (!call) $("waiting").hidden = !loggedIn;
}

function tickTimer() {
  const elapsed = (Date.now() - stateSince) / 1000;
  const node = $("since");
  if (currentState === "wrap_up" && wrapupLimit) {
    node.textContent = duration(elapsed) + " of " + duration(wrapupLimit);
    node.classList.toggle("over", elapsed > wrapupLimit * 0.8);
  } else {
    node.textContent = duration(elapsed);
    node.classList.remove("over");
  }
}
setInterval(tickTimer, 250);

function pauseCodes(codes) {
  const sel = $("pause-code");
  const kept = sel.value;
  clear(sel);
  for (const c of codes) sel.appendChild(el("option", c, { value: c }));
  if (codes.includes(kept)) sel.value = kept;
}

async function load() {
  const me = await api("GET", "/web/me");
  if (!me.ok) { notice(me.data && me.data.error); return; }
  pauseCodes(me.data.pause_codes);
  wrapupLimit = me.data.wrapup_limit || 0;
  $("campaign").textContent = me.data.campaign || "";
  showState(me.data.state, me.data.pause_code, me.data.seconds_in_state);
  $("choose").hidden = true;
  if (!me.data.campaign) {
    const box = $("campaigns");
    clear(box);
    if (!me.data.campaigns.length) box.appendChild(el("p", "You are not assigned to any campaign."));
    for (const name of me.data.campaigns) {
      const b = el("button", name, { type: "button", "data-campaign": name });
      b.addEventListener("click", () => chooseCampaign(name));
      box.appendChild(b);
    }
    $("choose").hidden = false;
  }
  if (me.data.campaign) loadCallbacks();
  const res = me.data.call_id ? await api("GET", "/api/agents/" + encodeURIComponent(NAME) + "/call") : null;
  if (res && res.status === 200) {
    const details = res.data.call;
    if (call && call.call_id === details.call_id) {
      call = details;  // the same call: keep what the agent has filled in, show its status now
      $("call-status").textContent = callStatus(details.status);
    } else {
      showCall(details, null);
    }
  } else if (call) {
    call = null;  // disposed meanwhile (in another tab, or by the rules at the wrap-up limit)
    $("call").hidden = true;
    $("waiting").hidden = currentState === "logged_out";
  }
}

async function loadCallbacks() {
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const res = await api("GET", "/api/agents/" + encodeURIComponent(NAME) + "/callbacks?tz=" + encodeURIComponent(tz));
  if (!res.ok) return;
  const body = $("callbacks-table").querySelector("tbody");
  clear(body);
  for (const c of res.data.callbacks) {
    const tr = el("tr", null, { "data-lead": String(c.lead_id) });
    tr.appendChild(el("td", new Date(c.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })));
    tr.appendChild(el("td", c.name || "(no name)"));
    tr.appendChild(el("td", c.phone));
    body.appendChild(tr);
  }
  $("callbacks-empty").hidden = res.data.callbacks.length > 0;
  $("my-callbacks").hidden = false;
}

async function chooseCampaign(name) {
  const res = await form("/web/login", { campaign: name });
  if (!res.ok) { notice(res.data && res.data.error); return; }
  notice("");
  $("choose").hidden = true;
  $("campaign").textContent = name;
  pauseCodes(res.data.pause_codes);
  await load();
}

$("ready").addEventListener("click", async () => {
  const res = await api("POST", "/api/agents/" + encodeURIComponent(NAME) + "/ready", {});
  notice(res.ok ? "" : res.data && res.data.error);
});
$("pause").addEventListener("click", async () => {
  const res = await api("POST", "/api/agents/" + encodeURIComponent(NAME) + "/pause", { code: $("pause-code").value });
  notice(res.ok ? "" : res.data && res.data.error);
});

function localTime(zones) {
  const zone = zones && zones[0];
  if (!zone) return "";
  try {
    return new Date().toLocaleTimeString("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit" }) + " " + zone;
  } catch (e) { return zone; }
}

const STANDARD = ["id", "first_name", "last_name", "phone", "timezones"];

// The call's row may still say ringing or answered when it has reached the agent (the daemon
// writes in batches): only an ended call (or one the daemon lost sight of) awaits a disposition.
function callStatus(status) {
  return status === "ended" || status === "unknown" ? "ended — awaiting disposition" : "connected";
}

function showCall(details, sentAt) {
  call = details;
  const lead = details.lead || {};
  $("lead-name").textContent = [lead.first_name, lead.last_name].filter(Boolean).join(" ") || "(no name)";
  $("lead-phone").textContent = lead.phone || "";
  $("lead-time").textContent = localTime(lead.timezones);
  $("call-status").textContent = callStatus(details.status);
  const fields = $("lead-fields");
  clear(fields);
  for (const [k, v] of Object.entries(lead)) {
    if (STANDARD.includes(k) || v === null || v === undefined || v === "") continue;
    fields.appendChild(el("dt", k));
    fields.appendChild(el("dd", typeof v === "object" ? JSON.stringify(v) : v));
  }
  $("lead-attempt").textContent = details.attempt ? String(details.attempt) : "";
  const hist = $("lead-history");
  clear(hist);
  for (const h of details.history || []) {
    const when = h.placed_at ? new Date(h.placed_at).toLocaleDateString() : "";
    const what = [h.outcome, h.disposition, h.refusal_reason].filter(Boolean).join(" · ");
    hist.appendChild(el("li", when + " " + what));
  }
  if (!(details.history || []).length) hist.appendChild(el("li", "first call"));
  $("script").textContent = details.script || "";
  const banner = $("callback-banner");
  banner.hidden = !details.callback;
  banner.textContent = details.callback
    ? "Callback asked for " + details.callback_at + (details.callback_note ? ": " + details.callback_note : "") : "";
  buildForm(details);
  $("waiting").hidden = true;
  $("call").hidden = false;
  const section = $("call");
  section.dataset.callId = String(details.call_id);
  if (sentAt) {
    section.dataset.sentAt = String(sentAt);
    section.dataset.poppedAt = String(Date.now());
  }
}

function buildForm(details) {
  chosen = null;
  const codes = $("codes");
  clear(codes);
  details.dispositions.forEach((d, i) => {
    const key = i < 9 ? String(i + 1) : "";
    const b = el("button", (key ? key + " · " : "") + d.label, { type: "button", "data-code": d.code, "aria-keyshortcuts": key });
    b.addEventListener("click", () => choose(d));
    codes.appendChild(b);
  });
  const reason = $("reason");
  clear(reason);
  reason.appendChild(el("option", "— choose a reason —", { value: "" }));
  for (const r of details.refusal_reasons) reason.appendChild(el("option", r.label, { value: r.code }));
  const order = $("order");
  clear(order);
  order.appendChild(el("legend", "Order"));
  for (const f of details.order_form) {
    const label = el("label", f.label + (f.required ? " *" : ""));
    let input;
    if (f.type === "choice") {
      input = el("select");
      input.appendChild(el("option", "", { value: "" }));
      for (const c of f.choices) input.appendChild(el("option", c, { value: c }));
    } else {
      const type = { int: "number", number: "number", date: "date", bool: "checkbox" }[f.type] || "text";
      input = el("input", null, { type });
      if (f.type === "int") input.setAttribute("step", "1");
    }
    input.dataset.field = f.name;
    input.dataset.type = f.type;
    if (f.required) input.required = true;
    label.appendChild(input);
    order.appendChild(label);
  }
  $("note").value = "";
  clear($("callback-day"));
  clear($("callback-at"));
  slots = null;
  for (const p of document.querySelectorAll(".field-error")) p.textContent = "";
  choose(null);
}

let slots = null;  // the picker's times, by local day

async function loadSlots() {
  if (slots || !call) return;
  const res = await api("GET", "/api/calls/" + call.call_id + "/callback-slots?days=7");
  if (!res.ok) { fieldError("callback_at", (res.data && res.data.error) || "no times"); return; }
  slots = new Map();
  for (const iso of res.data.slots) {
    const d = new Date(iso);
    const day = d.toLocaleDateString([], { weekday: "short", day: "numeric", month: "short" });
    if (!slots.has(day)) slots.set(day, []);
    slots.get(day).push(iso);
  }
  const days = $("callback-day");
  clear(days);
  for (const day of slots.keys()) days.appendChild(el("option", day, { value: day }));
  if (!slots.size) fieldError("callback_at", "No time inside the lead's calling hours in the next 7 days.");
  showTimes();
}

function showTimes() {
  const times = $("callback-at");
  clear(times);
  for (const iso of (slots && slots.get($("callback-day").value)) || []) {
    const label = new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    times.appendChild(el("option", label, { value: iso }));
  }
}
$("callback-day").addEventListener("change", showTimes);

function choose(d) {
  chosen = d;
  for (const b of $("codes").children) b.setAttribute("aria-pressed", String(!!d && b.dataset.code === d.code));
  const flags = d ? d.flags : [];
  $("reason-row").hidden = !flags.includes("refusal");
  $("order").hidden = !flags.includes("success");
  $("callback-row").hidden = !flags.includes("callback");
  if (flags.includes("callback")) loadSlots();
}

document.addEventListener("keydown", (ev) => {
  if (!call || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const t = ev.target.tagName;
  if (t === "INPUT" || t === "TEXTAREA" || t === "SELECT") return;
  const i = Number(ev.key) - 1;
  if (Number.isInteger(i) && i >= 0 && i < Math.min(9, call.dispositions.length)) {
    choose(call.dispositions[i]);
    ev.preventDefault();
  }
});

function fieldError(field, text) {
  const p = document.querySelector('.field-error[data-for="' + field + '"]') || document.querySelector('.field-error[data-for="code"]');
  p.textContent = text;
}

$("dispose").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  for (const p of document.querySelectorAll(".field-error")) p.textContent = "";
  if (!call) return;
  if (!chosen) { fieldError("code", "Choose a disposition."); return; }
  const body = { code: chosen.code, note: $("note").value || null };
  if (chosen.flags.includes("refusal")) {
    if (!$("reason").value) { fieldError("reason", "A refusal needs a reason."); return; }
    body.reason = $("reason").value;
  }
  if (chosen.flags.includes("callback")) {
    const v = $("callback-at").value;
    if (!v) { fieldError("callback_at", "Pick the time the customer asked for."); return; }
    body.callback_at = v;
    body.callback_owner = document.querySelector('input[name="callback-owner"]:checked').value;
  }
  if (chosen.flags.includes("success")) {
    const order = {};
    for (const input of $("order").querySelectorAll("[data-field]")) {
      const t = input.dataset.type;
      if (t === "bool") order[input.dataset.field] = input.checked;
      else if (input.value !== "") order[input.dataset.field] = (t === "int" || t === "number") ? Number(input.value) : input.value;
    }
    body.order = order;
  }
  const res = await api("POST", "/api/calls/" + call.call_id + "/disposition", body);
  if (!res.ok) {
    const msg = (res.data && res.data.error) || ("error " + res.status);
    const field = (msg.match(/^(reason|callback_at|order|note|code)\b/) || [null, "code"])[1];
    fieldError(field, msg);
    return;
  }
  callDone("Saved: " + body.code);
});

function callDone(message) {
  call = null;
  $("call").hidden = true;
  $("waiting").hidden = false;
  notice(message);
  loadCallbacks();
}

$("dnc").addEventListener("click", async () => {
  if (!call) return;
  const res = await api("POST", "/api/calls/" + call.call_id + "/dnc", { note: $("note").value || null });
  if (!res.ok) { notice((res.data && res.data.error) || ("error " + res.status)); return; }
  if (res.data.disposition) callDone("Do not call: " + res.data.phone + " added, call disposed " + res.data.disposition);
  else notice("Do not call: number added. " + res.data.error);
});

// What a tab may have missed is read again (load): after the stream reconnects (a daemon restart,
// a dropped connection: events sent meanwhile are lost), and when the agent's state changes in a
// way another tab of the same session may have caused (campaign chosen, call disposed, signed out).
let opened = false;

function listen() {
  const source = new EventSource("/web/events");
  source.addEventListener("agent", (ev) => {
    const d = JSON.parse(ev.data);
    const was = currentState;
    showState(d.state, d.pause_code, 0);
    if (was === "logged_out" || d.state === "logged_out" || (call && d.state !== "talking" && d.state !== "wrap_up")) load();
  });
  source.addEventListener("screen", (ev) => {
    const d = JSON.parse(ev.data);
    if (d.call_id) showCall(d, d.sent_at);
  });
  source.addEventListener("disposition_due", (ev) => {
    const d = JSON.parse(ev.data);
    if (call && call.call_id === d.call_id) $("call-status").textContent = "ended — awaiting disposition";
  });
  source.addEventListener("open", () => {
    document.body.dataset.live = "true";
    if (opened) load();  // reconnected: re-read the state and the call
    opened = true;
  });
  source.addEventListener("error", () => { document.body.dataset.live = "false"; });
}

load().then(listen);
