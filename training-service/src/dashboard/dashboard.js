"use strict";
// The dashboard: the token, the language switch, polling, and the learner's view. The admin's
// view is in dashboard-admin.js, the pictures in dashboard-charts.js, the words in
// dashboard-i18n.js.
(function () {
  const $ = (id) => document.getElementById(id);
  const I = window.TrainingI18n;
  const t = I.t;
  // Seconds between refreshes; none while the page is hidden (another tab, a locked phone).
  const LEARNER_EVERY_MS = 2000;
  const ADMIN_EVERY_MS = 5000;
  let token = null;
  let claims = null;
  let timer = null;
  let lastView = null; // the learner's last response, as text: redraw only when it changes
  let lastLearner = null;
  let status = { key: "noToken", vars: null, state: "idle" };

  function decodeClaims(tok) {
    const parts = tok.split(".");
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

  // The status is a live region: its text changes only when the state does (a screen reader
  // announces each change), the time of the last refresh goes beside it, silently.
  function setStatus(key, vars, state) {
    status = { key, vars, state };
    const s = $("status");
    const text = t(key, vars);
    if (s.textContent !== text) s.textContent = text;
    s.dataset.state = state;
    s.className = state === "error" ? "err" : "";
  }

  // Answers by path with their ETag: an unchanged view comes back as 304 without a body, and
  // costs the server one small change check instead of a read.
  const answers = new Map();

  async function api(path) {
    const headers = { Authorization: "Bearer " + token };
    const known = answers.get(path);
    if (known) headers["If-None-Match"] = known.etag;
    const res = await fetch(path, { headers, cache: "no-store" });
    if (res.status === 304 && known) return known.body;
    if (!res.ok) {
      let msg = res.status + "";
      try { msg += " " + (await res.json()).error; } catch (e) { /* not JSON */ }
      throw new Error(msg);
    }
    const body = await res.json();
    const etag = res.headers.get("ETag");
    if (etag) answers.set(path, { etag, body }); else answers.delete(path);
    return body;
  }

  function node(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "dataset") Object.assign(e.dataset, v); else e.setAttribute(k, v);
    }
    if (text !== undefined) e.textContent = String(text);
    return e;
  }

  function cell(row, text, field) {
    const td = node("td", field ? { dataset: { field } } : {}, text);
    row.appendChild(td);
    return td;
  }

  // What a day still needs to count as attended (check-in and identity verification).
  function attendanceStatus(d) {
    if (d.attended) return "dayAttended";
    if (d.check_in && !d.identity_verified) return "missingIdentity";
    if (!d.check_in && d.identity_verified) return "missingCheckIn";
    return "missingBoth";
  }

  // "12 s ago", recomputed every second from `last_event_at` without asking the server.
  function freshness() {
    const f = $("learner-freshness");
    const at = f.dataset.lastEventAt;
    f.textContent = at ? I.ago(Date.now() - Date.parse(at)) : t("noActivity");
    // Every other "… ago" on the page (the course's newest activity, the admin table's cells).
    for (const e of document.querySelectorAll("[data-ago]")) {
      e.textContent = e.dataset.ago ? I.ago(Date.now() - Date.parse(e.dataset.ago)) : t("none");
    }
  }

  function courseCard(c) {
    const card = node("section", { class: "card course", dataset: { course: c.course_id } });
    const id = "course-" + c.course_id.replace(/[^A-Za-z0-9_-]/g, "_");
    card.setAttribute("aria-labelledby", id);
    card.appendChild(node("h3", { id }, c.course_id));
    // Totals and the lecture/quiz shares.
    const sum = c.lecture_seconds + c.quiz_seconds;
    const lecturePct = sum ? Math.round((c.lecture_seconds / sum) * 100) : 0;
    const quizPct = sum ? 100 - lecturePct : 0;
    card.appendChild(node("p", { class: "facts" }, t("courseFacts", { credited: I.hm(c.credited_seconds), total: I.hm(c.total_seconds), days: c.attended_days })));
    const share = node("div", { class: "share", role: "img", "aria-label": t("share", { lecture: lecturePct, quiz: quizPct }), dataset: { lecture: lecturePct, quiz: quizPct } });
    const l = node("span", { class: "share-lecture" });
    const q = node("span", { class: "share-quiz" });
    l.style.width = lecturePct + "%";
    q.style.width = quizPct + "%";
    share.append(l, q);
    card.appendChild(share);
    card.appendChild(node("p", { class: "muted legend" }, t("lecture") + " " + I.hm(c.lecture_seconds) + " (" + lecturePct + "%) · " + t("quiz") + " " + I.hm(c.quiz_seconds) + " (" + quizPct + "%)"));
    // The days, as bars with the cap, and as a table for screen readers and exact numbers.
    card.appendChild(node("h4", {}, t("perDay")));
    const chart = node("div", { class: "chart-wrap" });
    chart.appendChild(window.TrainingCharts.dayBars(c.days, {
      title: t("chartTitle", { course: c.course_id }), desc: t("chartDesc"), capLabel: t("capLabel"),
      hm: I.hm, creditedWord: t("creditedPart"), overWord: t("uncreditedPart"),
    }));
    card.appendChild(chart);
    card.appendChild(node("p", { class: "legend muted" })).append(
      node("span", { class: "key key-credited", "aria-hidden": "true" }), " " + t("creditedPart") + "  ",
      node("span", { class: "key key-over", "aria-hidden": "true" }), " " + t("uncreditedPart") + "  ",
      node("span", { class: "key key-cap", "aria-hidden": "true" }), " " + t("capLabel"));
    // A region that may scroll sideways on a phone: focusable, so the keyboard can scroll it.
    const region = node("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": c.course_id + " · " + t("perDay") });
    const table = card.appendChild(region).appendChild(node("table", { class: "days" }));
    const head = node("tr");
    // Attendance right after the date: on a phone the numbers scroll, what is missing shows.
    for (const h of ["date", "attendance", "dayTime", "dayCredited", "dayUncredited"]) head.appendChild(node("th", { scope: "col" }, t(h)));
    table.appendChild(node("thead")).appendChild(head);
    const body = node("tbody");
    for (const d of c.days) {
      const tr = node("tr", { dataset: { date: d.date } });
      tr.appendChild(node("th", { scope: "row" }, d.date));
      const key = attendanceStatus(d);
      const st = cell(tr, t(key), "attendance");
      st.dataset.status = key;
      st.className = key === "dayAttended" ? "ok" : "missing";
      cell(tr, I.hm(d.total_seconds), "total");
      cell(tr, I.hm(d.credited_seconds), "credited");
      cell(tr, d.total_seconds > d.credited_seconds ? I.hm(d.total_seconds - d.credited_seconds) : t("none"), "uncredited");
      body.appendChild(tr);
    }
    table.appendChild(body);
    return card;
  }

  function renderLearner(v) {
    $("learner-id").textContent = v.learner_id;
    $("learner-total-seconds").textContent = String(v.total_seconds);
    $("learner-credited-seconds").textContent = String(v.credited_seconds);
    $("learner-total-hm").textContent = I.hm(v.total_seconds);
    $("learner-credited-hm").textContent = I.hm(v.credited_seconds);
    $("learner-freshness").dataset.lastEventAt = v.last_event_at || "";
    $("learner-last-event-at").textContent = v.last_event_at ? new Date(v.last_event_at).toLocaleString(I.lang === "ko" ? "ko-KR" : "en-GB") : "";
    $("learner-empty").classList.toggle("hidden", v.courses.length > 0);
    $("learner-courses-cards").replaceChildren(...v.courses.map(courseCard));
    const rows = v.courses.map((c) => {
      const tr = node("tr", { dataset: { course: c.course_id } });
      cell(tr, c.course_id, "course_id");
      cell(tr, c.total_seconds, "total_seconds");
      cell(tr, c.credited_seconds, "credited_seconds");
      cell(tr, c.lecture_seconds, "lecture_seconds");
      cell(tr, c.quiz_seconds, "quiz_seconds");
      cell(tr, c.attended_days, "attended_days");
      return tr;
    });
    $("learner-courses").tBodies[0].replaceChildren(...rows);
    freshness();
  }

  async function refreshLearner() {
    const v = await api("/v1/learners/" + encodeURIComponent(claims.sub) + "/training");
    const text = JSON.stringify(v);
    if (text !== lastView) {
      lastView = text;
      lastLearner = v;
      renderLearner(v);
    }
  }

  async function tick() {
    timer = null;
    if (!document.hidden) {
      try {
        if (claims.role === "admin") await window.TrainingAdmin.refresh(api); else await refreshLearner();
        setStatus("live", null, "ok");
        $("status-time").textContent = new Date().toLocaleTimeString(I.lang === "ko" ? "ko-KR" : "en-GB");
      } catch (e) {
        setStatus("error", { msg: e.message }, "error");
      }
    }
    timer = setTimeout(tick, claims.role === "admin" ? ADMIN_EVERY_MS : LEARNER_EVERY_MS);
  }

  function now() {
    if (timer) clearTimeout(timer);
    tick();
  }

  function start(tok) {
    const c = decodeClaims(tok);
    if (!c || !c.sub || (c.role !== "admin" && c.role !== "learner")) {
      setStatus("notAToken", null, "error");
      return;
    }
    token = tok;
    claims = c;
    answers.clear();
    sessionStorage.setItem("training-token", tok);
    $("whoami").textContent = t(c.role === "admin" ? "roleAdmin" : "roleLearner") + " " + c.sub;
    $("learner-view").classList.toggle("hidden", c.role === "admin");
    $("admin-view").classList.toggle("hidden", c.role !== "admin");
    lastView = null;
    now();
  }

  function setLanguage(l) {
    I.set(l);
    for (const b of document.querySelectorAll("[data-lang]")) b.setAttribute("aria-pressed", String(b.dataset.lang === I.lang));
    setStatus(status.key, status.vars, status.state);
    if (claims) {
      $("whoami").textContent = t(claims.role === "admin" ? "roleAdmin" : "roleLearner") + " " + claims.sub;
      if (lastLearner) renderLearner(lastLearner);
      if (claims.role === "admin") window.TrainingAdmin.render();
    }
    freshness();
  }

  for (const b of document.querySelectorAll("[data-lang]")) b.addEventListener("click", () => setLanguage(b.dataset.lang));
  $("token-apply").addEventListener("click", () => start($("token-input").value.trim()));
  $("token-input").addEventListener("keydown", (e) => { if (e.key === "Enter") start($("token-input").value.trim()); });
  document.addEventListener("visibilitychange", () => { if (!document.hidden && claims) now(); });
  window.TrainingAdmin.init({ refreshNow: () => { if (claims) now(); }, node, cell });
  setLanguage(I.lang);
  setInterval(freshness, 1000);

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
