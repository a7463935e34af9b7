"use strict";
// The wallboard: one "tick" message a second with the whole board (pushed, not polled).
const LABELS = { ready: "ready", reserved: "reserved", talking: "in call", wrap_up: "wrap-up",
  paused: "paused", unavailable: "unavailable" };

function render(b) {
  const main = document.getElementById("board");
  clear(main);
  const link = document.getElementById("link");
  link.textContent = b.link_up ? "PBX link up" : "PBX link DOWN";
  link.dataset.state = b.link_up ? "ready" : "unavailable";
  for (const c of b.campaigns) {
    const sec = el("section", null, { class: "campaign", "data-campaign": c.name });
    sec.appendChild(el("h2", c.name + " (" + c.mode + ")"));
    const counts = el("div", null, { class: "tiles" });
    for (const [state, n] of Object.entries(c.by_state)) {
      const t = el("div", null, { class: "tile", "data-state": state });
      t.appendChild(el("span", n, { class: "n" }));
      t.appendChild(el("span", LABELS[state] || state));
      counts.appendChild(t);
    }
    const calls = [["placed", c.calls.placed], ["ringing", c.calls.ringing], ["waiting", c.calls.waiting],
      ["lines", c.calls.lines], ["connected 24 h", c.calls.connected_24h], ["abandoned 24 h", c.calls.abandoned_24h],
      ["abandon rate 24 h", (100 * c.abandon_rate_24h).toFixed(2) + " %"]];
    for (const [label, n] of calls) {
      const t = el("div", null, { class: "tile", "data-metric": label });
      t.appendChild(el("span", n, { class: "n" }));
      t.appendChild(el("span", label));
      counts.appendChild(t);
    }
    sec.appendChild(counts);
    if (c.idle_reason) sec.appendChild(el("p", "Idle: " + c.idle_reason, { class: "idle" }));
    const table = el("table", null, { class: "agents" });
    const head = el("tr");
    for (const h of ["agent", "state", "pause code", "time in state", "call"]) head.appendChild(el("th", h));
    table.appendChild(head);
    for (const a of c.agents) {
      const tr = el("tr", null, { "data-agent": a.name, "data-state": a.state });
      tr.appendChild(el("td", a.name));
      tr.appendChild(el("td", LABELS[a.state] || a.state));
      tr.appendChild(el("td", a.pause_code || ""));
      tr.appendChild(el("td", duration(a.seconds_in_state)));
      tr.appendChild(el("td", a.call_id || ""));
      table.appendChild(tr);
    }
    sec.appendChild(table);
    main.appendChild(sec);
  }
  if (!b.campaigns.length) main.appendChild(el("p", "No campaign is running."));
}

const source = new EventSource("/web/events");
source.addEventListener("tick", (ev) => render(JSON.parse(ev.data)));
source.addEventListener("open", () => { document.body.dataset.live = "true"; });
source.addEventListener("error", () => { document.body.dataset.live = "false"; });
