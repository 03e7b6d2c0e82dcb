// valetkey inspector: a step's details (why it exists, and in live mode what really happened),
// and the flow's explanatory sections.
"use strict";
(function () {
  const VK = (window.VK = window.VK || {});
  const el = VK.el;
  const CHANNELS = { front: "Front channel (via browser)", back: "Back channel (server-to-server)", local: "Local step" };

  function pre(text, id) { return el("pre", { id }, typeof text === "string" ? text : JSON.stringify(text, null, 2)); }

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

  const OUTCOME_LABELS = { skip: "SKIPPED" }; // a rule the client skipped on purpose

  function checks(ev) {
    const head = el("thead", {}, el("tr", {}, el("th", { text: "Check" }), el("th", { text: "Result" }), el("th", { text: "Spec" }), el("th", { text: "Detail" })));
    const body = el("tbody");
    for (const c of ev.checks) body.append(el("tr", { class: `check ${c.outcome}` }, el("td", {}, el("code", { text: c.rule })), el("td", { class: c.outcome, text: OUTCOME_LABELS[c.outcome] || c.outcome }), el("td", { text: c.spec }), el("td", { text: c.detail })));
    return el("table", { class: "checks", id: "checks" }, head, body);
  }

  function eventParts(box, ev, part, number) {
    if (part === "response") box.append(el("p", { class: "part", text: `The answer to the request of step ${number - 1}: the same exchange, seen from the server's reply.` }));
    if (ev.summary) box.append(el("p", { id: "detail-summary", text: ev.summary }));
    if (ev.error) box.append(el("p", { class: "error", id: "detail-error", text: `error: ${ev.error}` + (ev.data.rule ? ` (rule ${ev.data.rule}, ${ev.data.spec || ""})` : "") }));
    if (ev.deprecated) box.append(el("p", {}, el("span", { class: "badge deprecated", text: "deprecated" }), ev.deprecated));
    if (ev.data && ev.data.insecure) box.append(el("p", {}, el("span", { class: "badge insecure", text: "INSECURE demo setting" }), String(ev.data.insecure)));
    if (ev.data && ev.data.joined) box.append(el("p", { class: "joined", text: `Joined to this flow ${ev.data.joined}.` }));
    if (ev.checks.length) box.append(el("h3", { text: "Checks" }), checks(ev));
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

  // item: a canonical step, an extra, or (with parent) a sub-step; heading: "Step 4 / 11".
  VK.renderDetail = function renderDetail(box, model, item, parent, heading) {
    box.replaceChildren();
    if (!item) {
      box.append(el("h2", { id: "detail-title", text: "Select a step" }), el("p", { class: "hint", text: "Pick a step in the diagram (or use ← and →)." }));
      return;
    }
    const names = Object.fromEntries(model.lanes);
    box.append(el("h2", { id: "detail-title", text: `${heading}: ${parent ? `${parent.title} › ` : ""}${item.title}` }));
    box.append(el("p", { class: "route", text: `${names[item.source] || item.source} → ${names[item.target] || item.target} · ${CHANNELS[item.channel] || item.channel}` + (item.name ? ` · ${item.name}` : "") }));
    if (item.note) box.append(el("p", { class: `note ${item.status}`, id: "detail-note", text: item.note }));
    if (item.explain) box.append(el("p", { class: "explain", id: "detail-explain" }, VK.rich(item.explain)));
    if (item.event) eventParts(box, item.event, item.part, item.number);
    else if (model.live && !item.note) box.append(el("p", { class: "hint", text: "No event for this step." }));
  };

  VK.renderAbout = function renderAbout(box, related, spec) {
    box.replaceChildren();
    related.replaceChildren();
    if (!spec) return;
    for (const [id, text] of spec.related || []) {
      related.append(el("a", { href: `#learn=${id}`, "data-learn": id, class: "related-link", text: `${text} →` }));
    }
    for (const section of spec.sections || []) {
      const node = el("section", { class: "about-section" }, el("h3", { text: section.title }));
      for (const [kind, texts] of section.blocks) {
        if (kind === "p") node.append(el("p", {}, VK.rich(texts[0])));
        else node.append(el(kind, {}, ...texts.map((t) => el("li", {}, VK.rich(t)))));
      }
      box.append(node);
    }
  };
})();
