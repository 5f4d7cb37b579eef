// Drives the dashboard's learner and admin views in headless Chromium and prints, as JSON on
// the last line of stdout, what they show; the Rust test (tests/dashboard_views.rs) decides.
//
//   node views.mjs '<json: {base, learnerToken, learnerId, adminToken, course, total,
//                           overDay, missingDay, absentDay, screenshots}>'
//
// Half-way it prints `ready-for-event` and waits for a line on stdin: the test applies a new
// event meanwhile, and the page's freshness label must change. It prints `idle-begin` /
// `idle-end` (learner) and `admin-idle-begin` / `admin-idle-end` around idle spells, during
// which the test counts the store calls (and, in the admin's, makes one more dead letter).
// CHROMIUM (default /usr/bin/chromium) is the browser executable.
import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const cfg = JSON.parse(process.argv[2]);
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const stdin = createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => stdin.once("line", resolve));
mkdirSync(cfg.screenshots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--headless=new"],
});
const out = {};

async function waitFor(page, fn, arg, what) {
  try {
    await page.waitForFunction(fn, arg, { timeout: 15000, polling: 100 });
  } catch (e) {
    throw new Error(`timed out waiting for ${what}`);
  }
}

// axe-core's serious and critical violations (WCAG 2 A/AA rules and best practices).
async function axe(page) {
  await page.evaluate(axeSource);
  const r = await page.evaluate(async () => {
    const res = await window.axe.run(document, { resultTypes: ["violations"] });
    return res.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help }));
  });
  return r.filter((v) => v.impact === "serious" || v.impact === "critical");
}

// What the admin's pipeline header shows.
function pipelineShown() {
  const dead = document.getElementById("pipeline-dead");
  return {
    heading: document.querySelector("#pipeline-heading [data-i18n=pipeline]").textContent,
    scope: document.getElementById("pipeline-scope").textContent,
    rate: document.getElementById("pipeline-rate").textContent,
    lag: document.getElementById("pipeline-lag").textContent,
    dead: dead.textContent,
    dead_count: dead.dataset.count,
    reasons: Array.from(dead.querySelectorAll("[data-reason]"), (e) => [e.dataset.reason, e.textContent]),
    recent: Array.from(document.querySelectorAll("#pipeline-recent-table tbody tr"), (tr) =>
      [tr.dataset.offset].concat(["handler", "record", "reason", "summary"].map((f) => tr.querySelector(`[data-field=${f}]`).textContent))),
  };
}

const open = async (locale, token, viewport) => {
  const ctx = await browser.newContext({ locale, viewport: viewport || { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("response", (r) => { if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`); });
  await page.goto(`${cfg.base}/dashboard#token=${encodeURIComponent(token)}`);
  return { page, errors };
};

try {
  // --- the learner, in English (the browser's language) ---
  const { page, errors } = await open("en-US", cfg.learnerToken);
  await waitFor(page, (want) => document.getElementById("learner-total-seconds").textContent === want, cfg.total, "the learner's total");
  await waitFor(page, () => document.querySelector("#learner-courses-cards svg.chart"), null, "a chart");
  out.learner = await page.evaluate(({ course, overDay, missingDay }) => {
    const card = document.querySelector(`#learner-courses-cards [data-course="${course}"]`);
    const over = card.querySelector(`g.day[data-date="${overDay}"]`);
    const row = (d) => card.querySelector(`table.days tr[data-date="${d}"] [data-field=attendance]`);
    return {
      lang: document.documentElement.lang,
      heading: document.querySelector("h1").textContent,
      total_seconds: document.getElementById("learner-total-seconds").textContent,
      credited_seconds: document.getElementById("learner-credited-seconds").textContent,
      cap_lines: card.querySelectorAll("svg .cap-line").length,
      cap_label: card.querySelector("svg .cap-label").textContent,
      over_day_credited: over && over.dataset.credited,
      over_day_over: over && over.dataset.over,
      over_rects: card.querySelectorAll("svg rect.bar-over").length,
      missing_status: row(missingDay) && row(missingDay).dataset.status,
      missing_text: row(missingDay) && row(missingDay).textContent,
      attended_text: row(overDay) && row(overDay).textContent,
      share: card.querySelector(".share").dataset,
      chart_name: card.querySelector("svg.chart title").textContent,
      freshness: document.getElementById("learner-freshness").textContent,
      last_event_at: document.getElementById("learner-freshness").dataset.lastEventAt,
      url: location.href,
    };
  }, cfg);
  out.learner.share = { lecture: out.learner.share.lecture, quiz: out.learner.share.quiz };
  out.learner_axe = await axe(page);
  await page.screenshot({ path: `${cfg.screenshots}/learner.png`, fullPage: true });

  // --- a new event arrives: the freshness label follows ---
  console.log("ready-for-event");
  await nextLine();
  await waitFor(page, (before) => document.getElementById("learner-freshness").dataset.lastEventAt !== before,
    out.learner.last_event_at, "a new last_event_at");
  await page.waitForTimeout(1100); // the label is recomputed every second
  out.after_event = await page.evaluate(() => ({
    freshness: document.getElementById("learner-freshness").textContent,
    last_event_at: document.getElementById("learner-freshness").dataset.lastEventAt,
    total_seconds: document.getElementById("learner-total-seconds").textContent,
  }));
  out.learner_errors = errors;
  // Idle: nothing changes for a while; the test counts the store calls meanwhile.
  await page.evaluate(() => {
    // What a screen reader would announce meanwhile: changes of the status live region.
    window.statusChanges = 0;
    new MutationObserver((m) => { window.statusChanges += m.length; })
      .observe(document.getElementById("status"), { childList: true, characterData: true, subtree: true });
  });
  console.log("idle-begin");
  await page.waitForTimeout(5000);
  console.log("idle-end");
  out.idle_status_changes = await page.evaluate(() => window.statusChanges);

  // --- the learner, in Korean (the browser's language), then the switch back to English ---
  const ko = await open("ko-KR", cfg.learnerToken, { width: 390, height: 844 });
  await waitFor(ko.page, () => document.querySelector("#learner-courses-cards svg.chart"), null, "a Korean chart");
  out.korean = await ko.page.evaluate(({ course, missingDay }) => {
    const card = document.querySelector(`#learner-courses-cards [data-course="${course}"]`);
    return {
      lang: document.documentElement.lang,
      heading: document.querySelector("h1").textContent,
      last_activity_label: document.querySelector("[data-i18n=lastActivity]").textContent,
      missing_text: card.querySelector(`tr[data-date="${missingDay}"] [data-field=attendance]`).textContent,
      cap_label: card.querySelector("svg .cap-label").textContent,
      pressed: document.querySelector("[data-lang=ko]").getAttribute("aria-pressed"),
      scroll_width: document.documentElement.scrollWidth,
    };
  }, cfg);
  out.korean_axe = await axe(ko.page);
  await ko.page.screenshot({ path: `${cfg.screenshots}/learner-ko-phone.png`, fullPage: true });
  // The switch works from the keyboard.
  await ko.page.focus("[data-lang=en]");
  await ko.page.keyboard.press("Enter");
  out.switched = await ko.page.evaluate(() => ({
    lang: document.documentElement.lang,
    heading: document.querySelector("h1").textContent,
    pressed: document.querySelector("[data-lang=en]").getAttribute("aria-pressed"),
  }));

  // --- the admin ---
  const ad = await open("en-US", cfg.adminToken);
  const cell = ad.page.locator(`[data-learner="${cfg.learnerId}"] [data-field="total_seconds"]`).first();
  await cell.waitFor({ timeout: 15000 });
  await waitFor(ad.page, () => document.querySelector("#histogram svg"), null, "the histogram");
  out.admin = await ad.page.evaluate((learnerId) => ({
    rows: document.querySelectorAll("#learners-table tbody [data-learner]").length,
    learner_cell: document.querySelector(`[data-learner="${learnerId}"] [data-field="total_seconds"]`).textContent,
    learner_credited: document.querySelector(`[data-learner="${learnerId}"] [data-field="credited_seconds"]`).textContent,
    histogram_total: Array.from(document.querySelectorAll("#histogram g.bin")).reduce((n, g) => n + Number(g.dataset.count), 0),
    histogram_bins: document.querySelectorAll("#histogram g.bin").length,
    freshness: document.getElementById("course-freshness").textContent,
  }), cfg.learnerId);
  await waitFor(ad.page, () => document.getElementById("pipeline-dead").dataset.count, null, "the pipeline header");
  out.dead_count_before = await ad.page.evaluate(() => document.getElementById("pipeline-dead").dataset.count);
  out.admin_axe = await axe(ad.page);
  console.log("admin-idle-begin");
  await ad.page.waitForTimeout(11000);
  console.log("admin-idle-end");
  await ad.page.waitForTimeout(5500); // one more refresh after the test's new counts
  out.pipeline = await ad.page.evaluate(pipelineShown);
  await ad.page.screenshot({ path: `${cfg.screenshots}/admin.png`, fullPage: true });
  await ad.page.screenshot({ path: `${cfg.screenshots}/admin.png`, fullPage: true });
  const ids = () => ad.page.evaluate(() => Array.from(document.querySelectorAll("#learners-table tbody [data-learner]"), (r) => r.dataset.learner));
  // Who has not attended on the chosen day.
  await ad.page.selectOption("#absent-day", cfg.absentDay);
  await ad.page.selectOption("#row-filter", "absent");
  out.absent = await ids();
  // Behind a pace of 8 h a day (nobody can be ahead of it).
  await ad.page.fill("#pace", "8");
  await ad.page.selectOption("#row-filter", "behind");
  out.behind = await ids();
  await ad.page.fill("#pace", "0");
  out.behind_at_zero = await ids();
  await ad.page.selectOption("#row-filter", "all");
  // Search.
  await ad.page.fill("#learner-search", cfg.learnerId);
  out.search = await ids();
  await ad.page.fill("#learner-search", "");
  // Sorting by credited time, twice: descending.
  await ad.page.click('button[data-sort="credited_seconds"]');
  await ad.page.click('button[data-sort="credited_seconds"]');
  out.sorted_desc = await ids();
  out.aria_sort = await ad.page.evaluate(() => document.querySelector('button[data-sort="credited_seconds"]').parentElement.getAttribute("aria-sort"));
  // The admin's page in Korean: the pipeline header's words and the reasons' labels.
  const koAdmin = await open("ko-KR", cfg.adminToken);
  await waitFor(koAdmin.page, () => document.getElementById("pipeline-dead").dataset.count === "3", null, "the Korean pipeline header");
  const k = await koAdmin.page.evaluate(pipelineShown);
  out.korean_admin = {
    heading: k.heading,
    reasons: k.reasons,
    dead: k.dead,
    reason_header: await koAdmin.page.evaluate(() => document.querySelector("[data-i18n=colReason]").textContent),
    first_reason: k.recent.length ? k.recent[0][3] : null,
  };
  out.korean_admin_axe = await axe(koAdmin.page);
  out.admin_errors = ad.errors.concat(ko.errors, koAdmin.errors);
} catch (e) {
  out.error = String(e);
} finally {
  await browser.close();
  stdin.close();
}
console.log(JSON.stringify(out));
