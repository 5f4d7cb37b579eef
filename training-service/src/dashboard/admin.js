"use strict";
// The admin's view: per course, a histogram of credited time, who has not attended on a day
// or is behind a pace, search, sorting, and the table of learners.
window.TrainingAdmin = (function () {
  const $ = (id) => document.getElementById(id);
  const I = window.TrainingI18n;
  const t = I.t;
  // Sortable columns: [field, header word, numeric].
  const COLUMNS = [
    ["learner_id", "colLearner", false],
    ["total_seconds", "colTotal", true],
    ["credited_seconds", "colCredited", true],
    ["lecture_seconds", "colLecture", true],
    ["quiz_seconds", "colQuiz", true],
    ["attended_days", "colAttended", true],
    ["credited_hm", "colCreditedHm", true],
    ["last_event_at", "colLast", false],
  ];
  let ui = null;
  let course = null;
  let learners = [];
  let lastText = null;
  let sort = { field: "learner_id", dir: 1 };
  // The course list is asked for at most once a minute (a new course is rare).
  const COURSES_EVERY_MS = 60000;
  let coursesAt = 0;

  async function loadCourses(api) {
    if (course && Date.now() - coursesAt < COURSES_EVERY_MS) return;
    const { courses } = await api("/v1/courses");
    coursesAt = Date.now();
    const sel = $("course-select");
    const current = sel.value;
    if (sel.options.length !== courses.length || Array.from(sel.options).some((o, i) => o.value !== courses[i])) {
      sel.replaceChildren(...courses.map((c) => { const o = document.createElement("option"); o.value = c; o.textContent = c; return o; }));
      if (courses.includes(current)) sel.value = current;
    }
    if (!course && courses.length) course = sel.value || courses[0];
  }

  // The pipeline header: the answering instance's numbers (no store call). Events per minute
  // is the difference between samples about a minute apart from the same process (another
  // instance behind the load balancer, or a restart, starts the samples over); dead letters
  // come counted for the last hour by the server, by reason, with the latest few.
  const REASONS = ["decode", "key", "rejected", "permanent", "retries_exhausted", "worker_crashed"];
  const RECENT_SHOWN = 5;
  let samples = [];

  async function refreshPipeline(api) {
    const p = await api("/v1/pipeline");
    const now = Date.now();
    const last = samples[samples.length - 1];
    if (!last || JSON.stringify(last.p.instance) !== JSON.stringify(p.instance)) samples = [];
    samples.push({ at: now, p });
    samples = samples.filter((s) => now - s.at <= 120000);
    renderPipeline();
  }

  // A reason's words; a reason this page does not know yet shows as the server's word.
  function reasonLabel(r) {
    const key = "reason_" + r;
    const s = t(key);
    return s === key ? r : s;
  }

  function renderPipeline() {
    const last = samples[samples.length - 1];
    if (!last) return;
    const p = last.p;
    const inst = p.instance || {};
    $("pipeline-instance").textContent = inst.name ? t("instanceName", { name: inst.name }) : "";
    const minuteAgo = samples.find((s) => last.at - s.at <= 60000) || last;
    const dt = (last.at - minuteAgo.at) / 1000;
    $("pipeline-rate").textContent = dt > 0
      ? t("perMinute", { n: Math.round(((p.events_applied_total - minuteAgo.p.events_applied_total) / dt) * 60) })
      : t("none");
    $("pipeline-lag").textContent = p.lag_seconds === null || p.lag_seconds === undefined
      ? t("noLag")
      : t("lagValue", { s: Math.round(p.lag_seconds * 10) / 10, n: p.lag_messages || 0 });
    const hour = p.dead_letters_last_hour || { total: 0, by_reason: {} };
    const order = (r) => (REASONS.includes(r) ? REASONS.indexOf(r) : REASONS.length);
    const parts = [document.createTextNode(t("deadLastHour", { n: hour.total }))];
    Object.entries(hour.by_reason)
      .sort(([a], [b]) => order(a) - order(b) || (a < b ? -1 : 1))
      .forEach(([r, n], i) => {
        parts.push(document.createTextNode(i === 0 ? " — " : ", "));
        parts.push(ui.node("span", { dataset: { reason: r, count: String(n) } }, t("reasonCount", { reason: reasonLabel(r), n })));
      });
    const dd = $("pipeline-dead");
    dd.replaceChildren(...parts);
    dd.dataset.count = String(hour.total);
    dd.className = hour.total > 0 ? "missing" : "";
    renderRecentDeadLetters(p.recent_dead_letters || []);
  }

  // The latest dead letters: when, which handler, which record, why (the runtime's summary of
  // the error: shortened, quoted values hidden).
  function renderRecentDeadLetters(list) {
    $("pipeline-recent").classList.toggle("hidden", list.length === 0);
    const rows = list.slice(0, RECENT_SHOWN).map((d) => {
      const tr = ui.node("tr", { dataset: { reason: d.reason, offset: String(d.offset) } });
      ui.cell(tr, I.ago(Date.now() - Date.parse(d.at)), "at").dataset.ago = d.at;
      ui.cell(tr, d.handler, "handler");
      ui.cell(tr, d.topic + " / " + d.partition + " @ " + d.offset, "record");
      ui.cell(tr, reasonLabel(d.reason), "reason");
      ui.cell(tr, d.summary, "summary");
      return tr;
    });
    $("pipeline-recent-table").tBodies[0].replaceChildren(...rows);
  }

  // One refresh: the course's learners, 500 a request; each request is conditional (ETag), so
  // an unchanged course costs one change check per page and no read. The table is redrawn
  // only when the answer changed.
  async function refresh(api) {
    await refreshPipeline(api);
    await loadCourses(api);
    if (!course) { $("course-count").textContent = t("noCoursesYet"); return; }
    const all = [];
    let after = null;
    for (let page = 0; page < 20; page++) {
      const q = "?limit=500" + (after ? "&after=" + encodeURIComponent(after) : "");
      const p = await api("/v1/courses/" + encodeURIComponent(course) + "/learners" + q);
      all.push(...p.learners);
      if (!p.next) break;
      after = p.next;
    }
    const text = JSON.stringify([course, all]);
    if (text === lastText) return;
    lastText = text;
    learners = all;
    render();
  }

  function courseDays() {
    return Array.from(new Set(learners.flatMap((l) => l.days.map((d) => d.date)))).sort();
  }

  function absentOn(l, day) {
    const d = l.days.find((x) => x.date === day);
    return !d || !d.attended;
  }

  function behind(l, days) {
    const pace = Number($("pace").value) || 0;
    return l.credited_seconds < pace * 3600 * days.length;
  }

  function value(l, field) {
    if (field === "credited_hm") return l.credited_seconds;
    if (field === "last_event_at") return l.last_event_at || "";
    return l[field];
  }

  function renderHistogram() {
    const { svg } = window.TrainingCharts.histogram(learners.map((l) => l.credited_seconds), {
      title: t("histTitle", { course }), desc: (bin) => t("histDesc", { bin }), hm: I.hm,
      binLabel: (from, to) => t("histBin", { from, to }),
    });
    const h = ui.node("h3", {}, t("histTitle", { course }));
    const note = ui.node("p", { class: "muted small" }, svg.querySelector("desc").textContent);
    const wrap = ui.node("div", { class: "chart-wrap" });
    wrap.appendChild(svg);
    $("histogram").replaceChildren(h, note, wrap);
  }

  function renderHead(days) {
    const head = $("learners-head");
    const cells = COLUMNS.map(([field, word]) => {
      const th = ui.node("th", { scope: "col" });
      const b = ui.node("button", { type: "button", class: "sort", dataset: { sort: field }, "aria-label": t("sortBy", { col: t(word) }) }, t(word));
      if (sort.field === field) th.setAttribute("aria-sort", sort.dir > 0 ? "ascending" : "descending");
      th.appendChild(b);
      return th;
    });
    cells.push(ui.node("th", { scope: "col" }, t("colFlags")));
    for (const day of days) cells.push(ui.node("th", { scope: "col" }, day));
    head.replaceChildren(...cells);
  }

  function render() {
    renderPipeline();
    if (!ui || !course) return;
    const days = courseDays();
    const absentSel = $("absent-day");
    const chosen = absentSel.value;
    if (absentSel.options.length !== days.length || Array.from(absentSel.options).some((o, i) => o.value !== days[i])) {
      absentSel.replaceChildren(...days.map((d) => ui.node("option", { value: d }, d)));
      absentSel.value = days.includes(chosen) ? chosen : days[days.length - 1] || "";
    }
    const day = absentSel.value;
    $("course-count").textContent = t("learners", { n: learners.length });
    const newest = learners.map((l) => l.last_event_at || "").sort().pop() || "";
    $("course-freshness").dataset.ago = newest;
    $("course-freshness").textContent = newest ? I.ago(Date.now() - Date.parse(newest)) : t("none");
    renderHistogram();
    renderHead(days);
    const needle = $("learner-search").value.trim().toLowerCase();
    const filter = $("row-filter").value;
    const shown = learners
      .filter((l) => !needle || l.learner_id.toLowerCase().includes(needle))
      .filter((l) => filter !== "absent" || absentOn(l, day))
      .filter((l) => filter !== "behind" || behind(l, days))
      .sort((a, b) => {
        const x = value(a, sort.field), y = value(b, sort.field);
        return (x < y ? -1 : x > y ? 1 : 0) * sort.dir || (a.learner_id < b.learner_id ? -1 : 1);
      });
    const rows = shown.map((l) => {
      const tr = ui.node("tr", { dataset: { learner: l.learner_id } });
      tr.appendChild(ui.node("th", { scope: "row", dataset: { field: "learner_id" } }, l.learner_id));
      for (const f of ["total_seconds", "credited_seconds", "lecture_seconds", "quiz_seconds", "attended_days"]) ui.cell(tr, l[f], f);
      ui.cell(tr, I.hm(l.credited_seconds), "credited_hm");
      ui.cell(tr, l.last_event_at ? I.ago(Date.now() - Date.parse(l.last_event_at)) : t("none"), "last_event_at").dataset.ago = l.last_event_at || "";
      const flags = [];
      if (day && absentOn(l, day)) flags.push(t("flagAbsent", { day }));
      if (behind(l, days)) flags.push(t("flagBehind"));
      const f = ui.cell(tr, flags.join(", "), "flags");
      f.className = flags.length ? "missing" : "";
      const byDay = new Map(l.days.map((d) => [d.date, d]));
      for (const d0 of days) {
        const d = byDay.get(d0);
        const td = ui.cell(tr, d ? I.hm(d.total_seconds) + (d.attended ? " ✓" : "") : "");
        td.dataset.day = d0;
        td.dataset.seconds = d ? String(d.total_seconds) : "0";
        if (d && d.attended) td.className = "att";
      }
      return tr;
    });
    $("learners-table").tBodies[0].replaceChildren(...rows);
    $("shown-count").textContent = t("matching", { n: shown.length, total: learners.length });
  }

  function init(u) {
    ui = u;
    $("course-select").addEventListener("change", (e) => { course = e.target.value; $("course-input").value = ""; lastText = null; ui.refreshNow(); });
    $("course-input").addEventListener("change", (e) => { const v = e.target.value.trim(); if (v) { course = v; lastText = null; ui.refreshNow(); } });
    for (const id of ["learner-search", "pace"]) $(id).addEventListener("input", render);
    for (const id of ["absent-day", "row-filter"]) $(id).addEventListener("change", render);
    $("learners-head").addEventListener("click", (e) => {
      const b = e.target.closest("button[data-sort]");
      if (!b) return;
      sort = { field: b.dataset.sort, dir: sort.field === b.dataset.sort ? -sort.dir : 1 };
      render();
      const again = document.querySelector(`#learners-head button[data-sort="${sort.field}"]`);
      if (again) again.focus();
    });
  }

  return { init, refresh, render };
})();
