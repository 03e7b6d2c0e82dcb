// valetkey inspector: draws each flow's steps from the live FlowEvents (no build step).
"use strict";
(function () {
  const ACTORS = window.VK_ACTORS;
  const OUTCOME_LABELS = { skip: "SKIPPED" };  // a rule the client skipped on purpose
  const LABELS = { user: "User", browser: "Browser", client: "Client App", authorization_server: "Authorization Server", resource_server: "Resource Server" };
  const flows = new Map();
  let selected = null;   // flow id
  let cursor = -1;       // index of the selected step
  let follow = true;     // follow the live flow's newest step
  let timer = null;
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const c of children) if (c != null) node.append(c);
    return node;
  }
  const center = (actor) => (ACTORS.indexOf(actor) * 20 + 10);
  const lastDone = (flow) => {
    let i = -1;
    flow.steps.forEach((s, n) => { if (s.event) i = n; });
    return i;
  };
  const time = (t) => t ? new Date(t * 1000).toLocaleTimeString() : "";

  function upsert(flow) {
    const isNew = !flows.has(flow.flow_id);
    const current = flows.get(selected);
    flows.set(flow.flow_id, flow);
    // Follow the live flow; a new flow also takes over from a finished one being inspected.
    if (!selected || (!timer && (follow || (isNew && current && current.complete)))) select(flow.flow_id, false);
    else if (flow.flow_id === selected) render();
    else renderList();
  }

  function select(flowId, byUser) {
    stop();
    selected = flowId;
    const flow = flows.get(flowId);
    follow = !byUser;
    cursor = flow ? lastDone(flow) : -1;
    render();
  }

  function renderList() {
    const list = $("flow-list");
    list.replaceChildren();
    const sorted = [...flows.values()].sort((a, b) => b.last_seq - a.last_seq);
    $("no-flows").hidden = sorted.length > 0;
    for (const f of sorted) {
      const badges = [];
      if (f.attack) badges.push(el("span", { class: "badge attack", text: "attack" }));
      if (f.insecure) badges.push(el("span", { class: "badge insecure", text: "INSECURE" }));
      if (f.deprecated) badges.push(el("span", { class: "badge deprecated", text: "deprecated" }));
      badges.push(f.errors.length ? el("span", { class: "badge failed", text: f.errors[f.errors.length - 1] })
        : el("span", { class: "badge ok", text: f.complete ? "complete" : "in progress" }));
      const title = f.attack ? f.attack.title : f.title;
      const button = el("button", { type: "button", "data-flow": f.flow_id, "aria-current": String(f.flow_id === selected) },
        el("span", { class: "kind", text: title }), ...badges,
        el("span", { class: "sub", text: ` ${f.client_id || ""} · ${time(f.started)}` }));
      button.addEventListener("click", () => select(f.flow_id, true));
      list.append(el("li", {}, button));
    }
  }

  function stepNode(step, index, total) {
    const classes = ["step", step.channel, step.status];
    if (index > cursor && step.event) classes.push("future");
    if (index === cursor) classes.push("selected");
    const a = center(step.source), b = center(step.target);
    const label = el("span", { class: "label", text: step.title });
    const parts = [el("span", { class: "num", text: `${step.number}` }), label];
    if (step.source === step.target || step.channel === "local") {
      parts.push(el("span", { class: "note", style: `left:${a - 4}%` }));
      label.style.left = `${a - 10}%`; label.style.width = "40%"; label.style.textAlign = "left";
    } else {
      const left = Math.min(a, b), width = Math.abs(a - b);
      parts.push(el("span", { class: "arrow" + (b < a ? " rtl" : ""), style: `left:${left}%;width:${width}%` }));
      label.style.left = `${left - 4}%`; label.style.width = `${width + 8}%`;
    }
    const channel = step.channel === "front" ? "front channel" : step.channel === "back" ? "back channel" : "local";
    const button = el("button", { type: "button", "aria-label": `Step ${index + 1} of ${total}: ${step.title}, ${LABELS[step.source] || step.source} to ${LABELS[step.target] || step.target}, ${channel}, ${step.status}` }, ...parts);
    button.addEventListener("click", () => { stop(); follow = false; cursor = index; render(); });
    return el("li", { class: classes.join(" "), "data-name": step.name, "data-status": step.status, "data-channel": step.channel, "data-source": step.source, "data-target": step.target }, button);
  }

  function render() {
    renderList();
    const flow = flows.get(selected);
    const steps = $("steps");
    steps.replaceChildren();
    if (!flow) return;
    $("flow-title").textContent = flow.attack ? `${flow.attack.title}` : flow.title;
    const meta = [flow.title, flow.client_id ? `client ${flow.client_id}` : null, `flow ${flow.flow_id}`];
    if (flow.attack) meta.push(`defence ${flow.attack.defence}`, `expected: ${flow.attack.expected}`);
    if (flow.deprecated) meta.push(`DEPRECATED: ${flow.deprecated}`);
    if (flow.insecure) meta.push("uses an INSECURE demo setting");
    $("flow-meta").textContent = meta.filter(Boolean).join(" · ");
    flow.steps.forEach((s, i) => steps.append(stepNode(s, i, flow.steps.length)));
    $("step-counter").textContent = `Step ${cursor + 1} / ${flow.steps.length}`;
    renderDetail(flow);
  }

  function pre(text, id) { return el("pre", id ? { id } : {}, typeof text === "string" ? text : JSON.stringify(text, null, 2)); }

  // Redacted values are percent-encoded in URLs; show them readably.
  const readable = (url) => { try { return decodeURIComponent(url); } catch (e) { return url; } };

  function httpText(http, which) {
    if (which === "request") {
      const lines = [`${http.method} ${readable(http.url)}`];
      for (const [k, v] of Object.entries(http.request_headers || {})) lines.push(`${k}: ${v}`);
      const body = Object.entries(http.request_body || {});
      if (body.length) lines.push("", body.map(([k, v]) => `${k}=${v}`).join("&"));
      return lines.join("\n");
    }
    if (http.status == null) return "(the response is the next step)";
    const lines = [`HTTP ${http.status}`];
    for (const [k, v] of Object.entries(http.response_headers || {})) lines.push(`${k}: ${k === "location" ? readable(v) : v}`);
    if (http.response_body != null) lines.push("", typeof http.response_body === "string" ? http.response_body : JSON.stringify(http.response_body, null, 2));
    return lines.join("\n");
  }

  function renderDetail(flow) {
    const box = $("detail");
    box.replaceChildren();
    const step = flow.steps[cursor];
    if (!step) {
      box.append(el("h2", { id: "detail-title", text: "Select a step" }), el("p", { class: "hint", text: "Pick a step in the diagram (or use ← and →)." }));
      return;
    }
    const ev = step.event;
    box.append(el("h2", { id: "detail-title", text: `Step ${cursor + 1} / ${flow.steps.length}: ${step.title}` }));
    const channel = step.channel === "front" ? "Front channel (via browser)" : step.channel === "back" ? "Back channel (server-to-server)" : "Local";
    box.append(el("p", { class: "route", text: `${LABELS[step.source] || step.source} → ${LABELS[step.target] || step.target} · ${channel} · ${step.name}` }));
    if (step.explain) box.append(el("p", { class: "explain", text: step.explain }));
    if (!ev) {
      box.append(el("p", { class: "hint", text: step.status === "pending" ? "Not happened yet." : "Not reached: the flow stopped earlier." }));
      return;
    }
    if (ev.summary) box.append(el("p", { id: "detail-summary", text: ev.summary }));
    if (ev.error) box.append(el("p", { class: "error", id: "detail-error", text: `error: ${ev.error}` + (ev.data.rule ? ` (rule ${ev.data.rule}, ${ev.data.spec || ""})` : "") }));
    if (ev.deprecated) box.append(el("p", {}, el("span", { class: "badge deprecated", text: "deprecated" }), ev.deprecated));
    if (ev.data && ev.data.insecure) box.append(el("p", {}, el("span", { class: "badge insecure", text: "INSECURE demo setting" }), String(ev.data.insecure)));
    if (ev.checks.length) {
      const table = el("table", { class: "checks", id: "checks" }, el("thead", {}, el("tr", {}, el("th", { text: "Check" }), el("th", { text: "Result" }), el("th", { text: "Spec" }), el("th", { text: "Detail" }))));
      const body = el("tbody");
      for (const c of ev.checks) body.append(el("tr", {}, el("td", {}, el("code", { text: c.rule })), el("td", { class: c.outcome, text: OUTCOME_LABELS[c.outcome] || c.outcome }), el("td", { text: c.spec }), el("td", { text: c.detail })));
      table.append(body);
      box.append(el("h3", { text: "Checks" }), table);
    }
    if (ev.http) {
      box.append(el("h3", { text: "HTTP request" }), pre(httpText(ev.http, "request"), "http-request"));
      box.append(el("h3", { text: "HTTP response" }), pre(httpText(ev.http, "response"), "http-response"));
      const copy = el("button", { type: "button", class: "copy", text: "Copy" });
      copy.addEventListener("click", () => navigator.clipboard && navigator.clipboard.writeText(ev.curl));
      box.append(el("h3", { text: "As curl " }, copy), pre(ev.curl, "curl"));
    }
    const decoded = ev.data && ev.data.decoded;
    if (decoded) box.append(el("h3", { text: "Decoded tokens" }), pre(decoded, "decoded"));
    const rest = Object.fromEntries(Object.entries(ev.data || {}).filter(([k]) => k !== "decoded"));
    if (Object.keys(rest).length) box.append(el("h3", { text: "Event data" }), pre(rest));
  }

  function move(to) {
    const flow = flows.get(selected);
    if (!flow) return;
    const max = lastDone(flow);
    cursor = Math.max(0, Math.min(to, Math.max(max, 0)));
    follow = cursor === max;
    render();
    const node = $("steps").children[cursor];
    if (node) node.scrollIntoView({ block: "nearest" });
  }
  function stop() { if (timer) { clearInterval(timer); timer = null; $("play").textContent = "▶ Replay"; } }
  function play() {
    if (timer) { stop(); return; }
    const flow = flows.get(selected);
    if (!flow) return;
    follow = false; cursor = 0; render();
    $("play").textContent = "⏸ Pause";
    timer = setInterval(() => {
      if (cursor >= lastDone(flow)) { stop(); follow = true; render(); return; }
      move(cursor + 1);
    }, 900);
  }

  $("first").addEventListener("click", () => { stop(); move(0); });
  $("prev").addEventListener("click", () => { stop(); move(cursor - 1); });
  $("next").addEventListener("click", () => { stop(); move(cursor + 1); });
  $("last").addEventListener("click", () => { stop(); move(1e9); });
  $("play").addEventListener("click", play);
  document.addEventListener("keydown", (e) => {
    if (e.target instanceof HTMLInputElement || e.altKey || e.ctrlKey || e.metaKey) return;
    const keys = { ArrowLeft: () => move(cursor - 1), ArrowRight: () => move(cursor + 1), Home: () => move(0), End: () => move(1e9), p: play };
    if (keys[e.key]) { e.preventDefault(); if (e.key !== "p") stop(); keys[e.key](); }
  });

  fetch("api/flows").then((r) => r.json()).then((body) => {
    body.flows.forEach((f) => flows.set(f.flow_id, f));
    const newest = [...flows.values()].sort((a, b) => b.last_seq - a.last_seq)[0];
    if (newest) select(newest.flow_id, false); else renderList();
    const source = new EventSource("events");
    source.addEventListener("open", () => { $("live").textContent = "live"; $("live").classList.add("on"); });
    source.addEventListener("error", () => { $("live").textContent = "reconnecting…"; $("live").classList.remove("on"); });
    source.addEventListener("flow", (m) => upsert(JSON.parse(m.data)));
  });
})();
