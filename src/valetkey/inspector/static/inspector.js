// valetkey inspector: learn mode (the canonical flows, from /api/catalog) and live mode (real
// flows laid onto the same steps, from /api/flows and the /events stream). No build step.
"use strict";
(function () {
  const VK = window.VK, el = VK.el;
  const $ = (id) => document.getElementById(id);
  const catalog = new Map(); // spec id -> canonical flow
  const flows = new Map(); // flow id -> live flow view
  // mode: "learn" (id is a spec) or "live" (id is a flow); index: the selected step (canonical
  // steps, then extras); sub: the selected sub-step inside it, or -1; follow: newest live flow.
  const state = { mode: "learn", id: "pkce", index: 0, sub: -1, follow: true, timer: null };

  function learnModel(spec) {
    const steps = spec.steps.map((s) => ({
      ...s, status: "learn", name: "", event: null, subs: [],
      note: s.skippable ? `A live flow may skip this step (${s.skippable}).` : "",
    }));
    return { live: false, title: spec.title, summary: spec.summary, lanes: spec.lanes, spec, steps, extras: [] };
  }

  function liveModel(flow) {
    const spec = catalog.get(flow.kind) || null;
    let steps = flow.steps, extras = flow.extras;
    if (!steps.length) { steps = extras.map((x, i) => ({ ...x, number: i + 1 })); extras = []; }
    return { live: true, title: flow.title, summary: flow.summary, lanes: flow.lanes, spec, flow, steps, extras };
  }

  function model() {
    if (state.mode === "live") { const f = flows.get(state.id); return f ? liveModel(f) : null; }
    const spec = catalog.get(state.id);
    return spec ? learnModel(spec) : null;
  }

  // The last step playback may show: every step in learn mode; in live mode the last one reached.
  function reached(m) {
    if (!m.live) return m.steps.length - 1;
    let last = -1;
    [...m.steps, ...m.extras].forEach((it, i) => { if (it.event || (it.subs && it.subs.length)) last = i; });
    return last;
  }

  function remember() {
    history.replaceState(null, "", state.mode === "live" ? `#flow=${state.id}` : `#learn=${state.id}`);
  }

  function learn(id, how) {
    if (!catalog.has(id)) return;
    stop();
    const index = how === "toggle" ? state.index : 0;
    Object.assign(state, { mode: "learn", id, index, sub: -1 });
    if (how) state.follow = false;
    remember();
    render();
  }

  function live(id, byUser) {
    stop();
    Object.assign(state, { mode: "live", id, sub: -1, follow: !byUser });
    const m = model();
    state.index = m ? Math.max(0, reached(m)) : 0;
    if (byUser) remember();
    render();
  }

  function upsert(flow) {
    const isNew = !flows.has(flow.flow_id);
    for (const j of flow.joined || []) {
      flows.delete(j.flow_id);
      if (state.mode === "live" && state.id === j.flow_id) state.id = flow.flow_id;
    }
    flows.set(flow.flow_id, flow);
    const current = state.mode === "live" ? flows.get(state.id) : null;
    // Follow the live flow; a new flow also takes over from a finished one being inspected.
    if (!state.timer && (state.follow || (isNew && current && current.complete && state.id !== flow.flow_id))) live(flow.flow_id, false);
    else if (state.mode === "live" && flow.flow_id === state.id) render();
    else renderLists();
  }

  function listButton(attrs, title, badges, sub, onClick) {
    const button = el("button", { type: "button", ...attrs }, el("span", { class: "kind", text: title }), ...badges, sub ? el("span", { class: "sub", text: sub }) : null);
    button.addEventListener("click", onClick);
    return el("li", {}, button);
  }

  function renderLists() {
    const learnList = $("learn-list");
    learnList.replaceChildren();
    for (const spec of catalog.values()) {
      if (!spec.learn || (spec.toggle && spec.id === spec.toggle[2])) continue; // reached by the toggle
      const ids = spec.toggle ? spec.toggle.slice(1) : [spec.id];
      const current = state.mode === "learn" && ids.includes(state.id);
      const badges = spec.group === "Deprecated" ? [el("span", { class: "badge deprecated", text: "deprecated" })] : [];
      learnList.append(listButton({ "data-learn": spec.id, "aria-current": String(current) }, spec.title, badges, null, () => learn(spec.id, "list")));
    }
    const list = $("flow-list");
    list.replaceChildren();
    const sorted = [...flows.values()].sort((a, b) => b.last_seq - a.last_seq);
    $("no-flows").hidden = sorted.length > 0;
    for (const f of sorted) {
      const badges = [];
      if (f.attack) badges.push(el("span", { class: "badge attack", text: "attack" }));
      if (f.insecure) badges.push(el("span", { class: "badge insecure", text: "INSECURE" }));
      if (f.deprecated) badges.push(el("span", { class: "badge deprecated", text: "deprecated" }));
      badges.push(el("span", { class: `badge status ${f.badge[1]}`, text: f.badge[0] }));
      const time = f.started ? new Date(f.started * 1000).toLocaleTimeString() : "";
      const current = state.mode === "live" && f.flow_id === state.id;
      list.append(listButton({ "data-flow": f.flow_id, "aria-current": String(current) }, f.title, badges, ` ${f.client_id || ""} · ${time}`, () => live(f.flow_id, true)));
    }
  }

  function meta(f) {
    const parts = [f.client_id ? `client ${f.client_id}` : null, `flow ${f.flow_id}`, f.badge[0]];
    if (f.attack) parts.push(`defence ${f.attack.defence}`, `expected: ${f.attack.expected}`);
    if (f.deprecated) parts.push(`DEPRECATED: ${f.deprecated}`);
    if (f.insecure) parts.push("uses an INSECURE demo setting");
    for (const j of f.joined) parts.push(`joined flow ${j.flow_id} (${j.how})`);
    return parts.filter(Boolean).join(" · ");
  }

  function renderToggle(m) {
    const t = m.spec && m.spec.toggle;
    $("toggle-box").hidden = !t;
    if (!t) return;
    const on = m.spec.id === t[1];
    $("toggle-label").textContent = `${t[0]} ${on ? "on" : "off"}`;
    $("toggle").checked = on;
    $("toggle").disabled = m.live;
    $("toggle-box").title = m.live ? `This live flow ${on ? "used" : "did not use"} ${t[0]}` : `Switch ${t[0]} on or off: the steps are rewritten`;
  }

  function heading(m) {
    const total = m.steps.length;
    return state.index < total ? `Step ${state.index + 1} / ${total}` : `After step ${total}: +${state.index - total + 1}`;
  }

  function render() {
    renderLists();
    const m = model();
    if (!m) return;
    document.body.dataset.mode = state.mode;
    $("mode").textContent = m.live ? "Live flow" : "Learn: the canonical flow";
    $("flow-title").textContent = m.title;
    $("flow-summary").replaceChildren(VK.rich(m.summary));
    $("flow-meta").textContent = m.live ? meta(m.flow) : "Step through it with the buttons or ← →; select a step to read why it exists.";
    $("export").hidden = !m.live;
    if (m.live) {
      const flow = "api/flows/" + encodeURIComponent(m.flow.flow_id);
      $("export-mermaid").href = flow + "/mermaid";
      $("export-har").href = flow + "/har";
    }
    renderToggle(m);
    VK.drawLanes($("lanes"), $("steps"), m.lanes);
    VK.drawSteps($("steps"), m, { index: state.index, sub: state.sub, playing: Boolean(state.timer) }, reached(m), select);
    $("step-counter").textContent = heading(m);
    const item = [...m.steps, ...m.extras][state.index];
    const sub = item && state.sub >= 0 ? item.subs[state.sub] : null;
    VK.renderDetail($("detail"), m, sub || item, sub ? item : null, heading(m));
    VK.renderAbout($("about"), $("related"), m.spec);
  }

  function select(index, sub) {
    stop();
    Object.assign(state, { index, sub, follow: false });
    render();
    $("detail").scrollTop = 0;
  }

  function move(to) {
    const m = model();
    if (!m) return;
    const max = reached(m);
    Object.assign(state, { index: Math.max(0, Math.min(to, Math.max(max, 0))), sub: -1 });
    state.follow = m.live && state.index === max;
    render();
    const node = $("steps").querySelector("li.selected");
    if (node) node.scrollIntoView({ block: "nearest" });
  }

  function stop() {
    if (state.timer) { clearInterval(state.timer); state.timer = null; $("play").textContent = "▶ Play"; }
  }

  function play() {
    if (state.timer) { stop(); return; }
    const m = model();
    if (!m) return;
    state.follow = false;
    $("play").textContent = "⏸ Pause";
    state.timer = setInterval(() => {
      const now = model();
      if (!now || state.index >= reached(now)) { stop(); render(); return; }
      move(state.index + 1);
    }, 900);
    move(0);
  }

  $("first").addEventListener("click", () => { stop(); move(0); });
  $("prev").addEventListener("click", () => { stop(); move(state.index - 1); });
  $("next").addEventListener("click", () => { stop(); move(state.index + 1); });
  $("last").addEventListener("click", () => { stop(); move(1e9); });
  $("play").addEventListener("click", play);
  $("toggle").addEventListener("change", () => {
    const m = model();
    if (m && m.spec && m.spec.toggle) learn($("toggle").checked ? m.spec.toggle[1] : m.spec.toggle[2], "toggle");
  });
  document.addEventListener("click", (e) => {
    const link = e.target instanceof Element ? e.target.closest("a[data-learn]") : null;
    if (link) { e.preventDefault(); learn(link.dataset.learn, "link"); }
  });
  document.addEventListener("keydown", (e) => {
    const typing = e.target instanceof HTMLInputElement && e.target.type !== "checkbox";
    if (typing || e.target instanceof HTMLTextAreaElement || e.altKey || e.ctrlKey || e.metaKey) return;
    const keys = { ArrowLeft: () => move(state.index - 1), ArrowRight: () => move(state.index + 1), Home: () => move(0), End: () => move(1e9), p: play };
    if (keys[e.key]) { e.preventDefault(); if (e.key !== "p") stop(); keys[e.key](); }
  });

  function start(body) {
    body.flows.forEach((f) => flows.set(f.flow_id, f));
    const hash = new URLSearchParams(location.hash.slice(1));
    const newest = [...flows.values()].sort((a, b) => b.last_seq - a.last_seq)[0];
    if (hash.get("learn") && catalog.has(hash.get("learn"))) learn(hash.get("learn"), "link");
    else if (hash.get("flow") && flows.has(hash.get("flow"))) live(hash.get("flow"), true);
    else if (newest) live(newest.flow_id, false);
    else render();
    const source = new EventSource("events" + only);
    source.addEventListener("open", () => { $("live").textContent = "live"; $("live").classList.add("on"); });
    source.addEventListener("error", () => { $("live").textContent = "reconnecting…"; $("live").classList.remove("on"); });
    source.addEventListener("flow", (m) => upsert(JSON.parse(m.data)));
  }

  // ?client_id=...&user=... on the page's address: only those flows (the server filters).
  const wanted = new URLSearchParams(location.search);
  const only = "?" + new URLSearchParams([...wanted].filter(([k]) => k === "client_id" || k === "user"));
  fetch("api/catalog").then((r) => r.json()).then((body) => {
    body.flows.forEach((spec) => catalog.set(spec.id, spec));
    return fetch("api/flows" + only).then((r) => r.json()).then(start);
  });
})();
