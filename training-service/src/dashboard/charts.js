"use strict";
// The dashboard's two pictures, drawn as inline SVG (no library: two chart shapes do not
// justify vendoring one, and the page must work offline under a strict CSP). Colours come
// from dashboard.css (classes), never from inline styles, which the CSP forbids.
window.TrainingCharts = (function () {
  const NS = "http://www.w3.org/2000/svg";
  const CAP = 28800;
  let uid = 0;

  function el(name, attrs, text) {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // An <svg role="img"> named by a <title> and described by a <desc>.
  function frame(width, height, title, desc) {
    const id = "chart-" + ++uid;
    // Drawn at its natural size (text stays legible), shrunk to fit a narrow screen by CSS.
    const svg = el("svg", {
      viewBox: `0 0 ${width} ${height}`, width, height, role: "img", class: "chart",
      "aria-labelledby": `${id}-t ${id}-d`, preserveAspectRatio: "xMinYMin meet",
    });
    svg.appendChild(el("title", { id: id + "-t" }, title));
    svg.appendChild(el("desc", { id: id + "-d" }, desc));
    return svg;
  }

  // One bar per day: the credited part, the part over the 8-hour cap on top of it (not
  // credited), and the cap as a dashed line. `days`: [{date, total_seconds, credited_seconds}].
  function dayBars(days, o) {
    const bar = 40, gap = 20, left = 40, top = 18, plot = 200, bottom = 26;
    const width = Math.max(360, left + days.length * (bar + gap) + gap);
    const height = top + plot + bottom;
    const max = Math.max(CAP * 1.25, ...days.map((d) => d.total_seconds));
    const y = (s) => top + plot - (s / max) * plot;
    const svg = frame(width, height, o.title, o.desc);
    // Hour grid every 2 h (4 h when tall), labelled on the left.
    const step = max > 16 * 3600 ? 4 : 2;
    for (let h = 0; h * 3600 <= max; h += step) {
      svg.appendChild(el("line", { x1: left, x2: width, y1: y(h * 3600), y2: y(h * 3600), class: "grid" }));
      svg.appendChild(el("text", { x: left - 6, y: y(h * 3600) + 4, class: "axis", "text-anchor": "end" }, h + "h"));
    }
    days.forEach((d, i) => {
      const x = left + gap + i * (bar + gap);
      const over = d.total_seconds - d.credited_seconds;
      const g = el("g", {
        class: "day", "data-date": d.date, "data-credited": d.credited_seconds, "data-over": over,
      });
      g.appendChild(el("title", {}, `${d.date}: ${o.hm(d.total_seconds)} (${o.creditedWord} ${o.hm(d.credited_seconds)}` +
        (over > 0 ? `, ${o.overWord} ${o.hm(over)})` : ")")));
      g.appendChild(el("rect", { x, y: y(d.credited_seconds), width: bar, height: y(0) - y(d.credited_seconds), class: "bar-credited" }));
      if (over > 0) {
        g.appendChild(el("rect", { x, y: y(d.total_seconds), width: bar, height: y(d.credited_seconds) - y(d.total_seconds), class: "bar-over" }));
      }
      g.appendChild(el("text", { x: x + bar / 2, y: top + plot + 16, class: "axis", "text-anchor": "middle" }, d.date.slice(5)));
      svg.appendChild(g);
    });
    svg.appendChild(el("line", { x1: left, x2: width, y1: y(CAP), y2: y(CAP), class: "cap-line" }));
    svg.appendChild(el("text", { x: width - 4, y: y(CAP) - 5, class: "cap-label", "text-anchor": "end" }, o.capLabel));
    return svg;
  }

  // A histogram of `values` (seconds) in `bins` equal bins from 0 to the largest value.
  function histogram(values, o) {
    const bins = 8, left = 36, top = 12, plot = 150, bottom = 44, colw = 44;
    const max = Math.max(3600, ...values);
    const binSize = Math.ceil(max / bins / 1800) * 1800; // whole half-hours
    const counts = new Array(bins).fill(0);
    for (const v of values) counts[Math.min(bins - 1, Math.floor(v / binSize))]++;
    const peak = Math.max(1, ...counts);
    const width = left + bins * colw + 8;
    const height = top + plot + bottom;
    const svg = frame(width, height, o.title, o.desc(o.hm(binSize)));
    const y = (n) => top + plot - (n / peak) * plot;
    svg.appendChild(el("line", { x1: left, x2: width, y1: y(0), y2: y(0), class: "grid" }));
    svg.appendChild(el("text", { x: left - 6, y: y(peak) + 4, class: "axis", "text-anchor": "end" }, String(peak)));
    counts.forEach((n, i) => {
      const x = left + i * colw + 4;
      const label = o.binLabel(o.hm(i * binSize), o.hm((i + 1) * binSize));
      const g = el("g", { class: "bin", "data-count": n, "data-from": i * binSize });
      g.appendChild(el("title", {}, `${label}: ${n}`));
      g.appendChild(el("rect", { x, y: y(n), width: colw - 8, height: y(0) - y(n), class: "bar-credited" }));
      if (n > 0) g.appendChild(el("text", { x: x + (colw - 8) / 2, y: y(n) - 3, class: "axis", "text-anchor": "middle" }, String(n)));
      g.appendChild(el("text", { x: x + (colw - 8) / 2, y: top + plot + 14, class: "axis", "text-anchor": "middle" }, Math.round((i * binSize) / 3600 * 10) / 10 + "h"));
      svg.appendChild(g);
    });
    return { svg, binSize, counts };
  }

  return { dayBars, histogram, CAP };
})();
