// valetkey inspector: draws a flow's steps on its lanes, the same way in learn and live mode.
"use strict";
(function () {
  const VK = (window.VK = window.VK || {});

  VK.el = function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const c of children) if (c != null) node.append(c);
    return node;
  };
  const el = VK.el;

  // Plain text with `code` and [text](learn:id) links, built as DOM nodes (never as HTML).
  VK.rich = function rich(text) {
    const out = document.createDocumentFragment();
    for (const part of String(text || "").split(/(`[^`]+`|\[[^\]]+\]\(learn:[a-z_:]+\))/)) {
      if (!part) continue;
      const link = part.match(/^\[([^\]]+)\]\(learn:([a-z_:]+)\)$/);
      if (part.startsWith("`") && part.endsWith("`") && part.length > 1) out.append(el("code", { text: part.slice(1, -1) }));
      else if (link) out.append(el("a", { href: `#learn=${link[2]}`, "data-learn": link[2], text: link[1] }));
      else out.append(part);
    }
    return out;
  };

  VK.channelName = (c) => (c === "front" ? "front channel" : c === "back" ? "back channel" : "local step");

  // Lane k's centre, as CSS, inside a row whose first column (the gutter) holds the step number.
  const centre = (k, n) => `calc(var(--gutter) + (100% - var(--gutter)) * ${(k + 0.5) / n})`;

  function lifelines(n) {
    const stops = [];
    for (let k = 0; k < n; k++) {
      const x = centre(k, n);
      stops.push(`transparent calc(${x} - 1px)`, `var(--line) calc(${x} - 1px)`, `var(--line) calc(${x} + 1px)`, `transparent calc(${x} + 1px)`);
    }
    return `linear-gradient(to right, ${stops.join(", ")})`;
  }

  VK.drawLanes = function drawLanes(box, list, lanes) {
    box.replaceChildren(el("span", { class: "gutter" }));
    for (const [id, label] of lanes) box.append(el("div", { class: "lane", "data-actor": id, text: label }));
    for (const node of [box, list]) node.style.setProperty("--lanes", lanes.length);
    list.style.backgroundImage = lifelines(lanes.length);
  };

  // One drawn row: the label over the span of lanes it joins, the arrow between the two lifelines
  // (or a boxed note on one lane for a local step).
  function row(item, ids, num, aria, onClick) {
    const n = ids.length;
    const a = Math.max(0, ids.indexOf(item.source)), b = Math.max(0, ids.indexOf(item.target));
    const lo = Math.min(a, b), hi = Math.max(a, b);
    const label = el("span", { class: "label", text: item.title });
    const parts = [el("span", { class: "num", text: num }), label];
    if (lo === hi) {
      const from = Math.max(0, lo - 1), to = Math.min(n - 1, lo + 1);
      label.classList.add("local");
      label.style.gridColumn = `${from + 2} / ${to + 3}`;
      label.style.justifySelf = lo === 0 ? "start" : lo === n - 1 ? "end" : "center";
    } else {
      label.style.gridColumn = `${lo + 2} / ${hi + 3}`;
      const arrow = el("span", { class: "arrow" + (b < a ? " rtl" : "") });
      arrow.style.left = centre(lo, n);
      arrow.style.width = `calc((100% - var(--gutter)) * ${(hi - lo) / n})`;
      parts.push(arrow);
    }
    const button = el("button", { type: "button", class: "row", "aria-label": aria }, ...parts);
    button.addEventListener("click", onClick);
    return button;
  }

  function attrs(item, cls) {
    return {
      class: cls, "data-name": item.name || "", "data-status": item.status, "data-channel": item.channel,
      "data-source": item.source, "data-target": item.target,
    };
  }

  // model: {lanes, steps, extras}; pos: {index, sub, playing}; reached: the last step to show.
  VK.drawSteps = function drawSteps(list, model, pos, reached, onSelect) {
    const ids = model.lanes.map((l) => l[0]);
    const names = Object.fromEntries(model.lanes);
    const total = model.steps.length;
    list.replaceChildren();
    const items = [...model.steps, ...model.extras];
    items.forEach((item, index) => {
      const extra = index >= total;
      const status = item.status;
      const cls = ["step", extra ? "extra" : "canonical", item.channel, status];
      if (index === pos.index && pos.sub < 0) cls.push("selected");
      if (pos.playing && index > pos.index && index <= reached) cls.push("future"); // replaying: not yet
      const num = extra ? "+" : String(item.number);
      const where = `${names[item.source] || item.source} to ${names[item.target] || item.target}, ${VK.channelName(item.channel)}`;
      const aria = `${extra ? "After the flow" : `Step ${item.number} of ${total}`}: ${item.title}, ${where}, ${status}`;
      const li = el("li", { ...attrs(item, cls.join(" ")), "data-number": extra ? "" : item.number },
        row(item, ids, num, aria, () => onSelect(index, -1)));
      if (item.subs && item.subs.length) {
        const subs = el("ol", { class: "subs" });
        item.subs.forEach((sub, k) => {
          const sc = ["sub", sub.channel, sub.status];
          if (index === pos.index && k === pos.sub) sc.push("selected");
          const label = `${num}.${k + 1}`;
          subs.append(el("li", attrs(sub, sc.join(" ")),
            row(sub, ids, label, `Inside step ${num}: ${sub.title}, ${sub.status}`, () => onSelect(index, k))));
        });
        li.append(subs);
      }
      list.append(li);
    });
  };
})();
