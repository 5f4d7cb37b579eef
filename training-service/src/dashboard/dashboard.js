"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let token = null;
  let claims = null;
  let timer = null;
  let course = null;

  function hm(seconds) {
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    return h + "h " + String(m).padStart(2, "0") + "m";
  }

  function decodeClaims(t) {
    const parts = t.split(".");
    if (parts.length !== 3) return null;
    try {
      const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
      const json = decodeURIComponent(Array.from(atob(b64 + "===".slice((b64.length + 3) % 4)),
        (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""));
      return JSON.parse(json);
    } catch (e) {
      return null;
    }
  }

  function setStatus(text, state) {
    const s = $("status");
    s.textContent = text;
    s.dataset.state = state;
    s.className = state === "error" ? "err" : "muted";
  }

  async function api(path) {
    const res = await fetch(path, { headers: { Authorization: "Bearer " + token }, cache: "no-store" });
    if (!res.ok) {
      let msg = res.status + "";
      try { msg += " " + (await res.json()).error; } catch (e) { /* not JSON */ }
      throw new Error(msg);
    }
    return res.json();
  }

  function cell(row, text, field) {
    const td = document.createElement("td");
    td.textContent = String(text);
    if (field) td.dataset.field = field;
    row.appendChild(td);
    return td;
  }

  async function refreshLearner() {
    const v = await api("/v1/learners/" + encodeURIComponent(claims.sub) + "/training");
    $("learner-id").textContent = v.learner_id;
    $("learner-total-seconds").textContent = String(v.total_seconds);
    $("learner-credited-seconds").textContent = String(v.credited_seconds);
    $("learner-total-hm").textContent = hm(v.total_seconds);
    $("learner-credited-hm").textContent = hm(v.credited_seconds);
    $("learner-updated-at").textContent = v.updated_at || "never";
    const body = $("learner-courses").tBodies[0];
    const rows = [];
    for (const c of v.courses) {
      const tr = document.createElement("tr");
      tr.dataset.course = c.course_id;
      cell(tr, c.course_id, "course_id");
      cell(tr, c.total_seconds, "total_seconds");
      cell(tr, c.credited_seconds, "credited_seconds");
      cell(tr, c.lecture_seconds, "lecture_seconds");
      cell(tr, c.quiz_seconds, "quiz_seconds");
      cell(tr, c.attended_days, "attended_days");
      cell(tr, c.days.map((d) => d.date + ": " + hm(d.credited_seconds) + (d.attended ? " ✓" : "")).join(", "), "days");
      rows.push(tr);
    }
    body.replaceChildren(...rows);
  }

  async function loadCourses() {
    const { courses } = await api("/v1/courses");
    const sel = $("course-select");
    const current = sel.value;
    if (sel.options.length !== courses.length || Array.from(sel.options).some((o, i) => o.value !== courses[i])) {
      sel.replaceChildren(...courses.map((c) => { const o = document.createElement("option"); o.value = c; o.textContent = c; return o; }));
      if (courses.includes(current)) sel.value = current;
    }
    if (!course && courses.length) course = sel.value || courses[0];
  }

  async function refreshAdmin() {
    await loadCourses();
    if (!course) { setStatus("no courses yet", "ok"); return; }
    const learners = [];
    let after = null;
    for (let page = 0; page < 20; page++) {
      const q = "?limit=500" + (after ? "&after=" + encodeURIComponent(after) : "");
      const p = await api("/v1/courses/" + encodeURIComponent(course) + "/learners" + q);
      learners.push(...p.learners);
      if (!p.next) break;
      after = p.next;
    }
    const days = Array.from(new Set(learners.flatMap((l) => l.days.map((d) => d.date)))).sort();
    const head = $("learners-head");
    const headCells = ["Learner", "Total s", "Credited s", "Lecture s", "Quiz s", "Attended days", "Credited"].concat(days);
    head.replaceChildren(...headCells.map((h) => { const th = document.createElement("th"); th.textContent = h; return th; }));
    const rows = learners.map((l) => {
      const tr = document.createElement("tr");
      tr.dataset.learner = l.learner_id;
      cell(tr, l.learner_id, "learner_id");
      cell(tr, l.total_seconds, "total_seconds");
      cell(tr, l.credited_seconds, "credited_seconds");
      cell(tr, l.lecture_seconds, "lecture_seconds");
      cell(tr, l.quiz_seconds, "quiz_seconds");
      cell(tr, l.attended_days, "attended_days");
      cell(tr, hm(l.credited_seconds), "credited_hm");
      const byDay = new Map(l.days.map((d) => [d.date, d]));
      for (const day of days) {
        const d = byDay.get(day);
        const td = cell(tr, d ? hm(d.total_seconds) : "");
        td.dataset.day = day;
        td.dataset.seconds = d ? String(d.total_seconds) : "0";
        if (d && d.attended) { td.className = "att"; td.title = "attended"; }
      }
      return tr;
    });
    $("learners-table").tBodies[0].replaceChildren(...rows);
    $("course-count").textContent = learners.length + " learners";
  }

  async function tick() {
    timer = null;
    try {
      if (claims.role === "admin") await refreshAdmin(); else await refreshLearner();
      setStatus("live · " + new Date().toLocaleTimeString(), "ok");
    } catch (e) {
      setStatus("error: " + e.message, "error");
    }
    timer = setTimeout(tick, 1000);
  }

  function start(t) {
    const c = decodeClaims(t);
    if (!c || !c.sub || (c.role !== "admin" && c.role !== "learner")) {
      setStatus("that does not look like a token of this service", "error");
      return;
    }
    token = t;
    claims = c;
    sessionStorage.setItem("training-token", t);
    $("whoami").textContent = c.role + " " + c.sub;
    $("learner-view").classList.toggle("hidden", c.role === "admin");
    $("admin-view").classList.toggle("hidden", c.role !== "admin");
    if (timer) clearTimeout(timer);
    tick();
  }

  $("token-apply").addEventListener("click", () => start($("token-input").value.trim()));
  $("token-input").addEventListener("keydown", (e) => { if (e.key === "Enter") start($("token-input").value.trim()); });
  $("course-select").addEventListener("change", (e) => { course = e.target.value; $("course-input").value = ""; if (timer) { clearTimeout(timer); tick(); } });
  $("course-input").addEventListener("change", (e) => { const v = e.target.value.trim(); if (v) { course = v; if (timer) { clearTimeout(timer); tick(); } } });

  // The token comes in the URL's fragment (`#token=…`), which browsers never send to a
  // server, so it stays out of access logs, proxies and referrers; it is removed from the
  // address bar and history once read.
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
  const fromUrl = fragment.get("token");
  if (fromUrl) {
    fragment.delete("token");
    const rest = fragment.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? "#" + rest : ""));
  }
  const initial = fromUrl || sessionStorage.getItem("training-token");
  if (initial) start(initial);
})();
