// Opens the dashboard in headless Chromium and prints, as JSON on stdout, the numbers it
// shows once they equal the expected ones (or what it showed when the wait timed out).
//
//   node check.mjs <base-url> <learner-token> <learner-id> <expected-total-seconds> \
//                  <admin-token> <course-id> <expected-dead-letters-in-the-last-hour>
//
// CHROMIUM (default /usr/bin/chromium) is the browser executable.
import { chromium } from "playwright-core";

const [base, learnerToken, learnerId, expected, adminToken, courseId, dead] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--headless=new"],
});
const out = {};
try {
  const page = await browser.newPage();
  await page.goto(`${base}/dashboard#token=${encodeURIComponent(learnerToken)}`);
  const total = page.locator("#learner-total-seconds");
  await total.waitFor({ timeout: 15000 });
  const deadline = Date.now() + 15000;
  out.learner_total_seconds = (await total.textContent()).trim();
  // The page drops the token from the address bar once read.
  out.learner_url = page.url();
  while (out.learner_total_seconds !== expected && Date.now() < deadline) {
    await page.waitForTimeout(250);
    out.learner_total_seconds = (await total.textContent()).trim();
  }

  const admin = await browser.newPage();
  await admin.goto(
    `${base}/dashboard#token=${encodeURIComponent(adminToken)}`,
  );
  const cell = admin.locator(`[data-learner="${learnerId}"] [data-field="total_seconds"]`).first();
  await cell.waitFor({ timeout: 15000 });
  out.admin_rows = await admin.locator("[data-learner]").count();
  out.admin_learner_cell = (await cell.textContent()).trim();
  // The pipeline header's dead letters of the last hour, by reason.
  try {
    await admin.waitForFunction((n) => document.getElementById("pipeline-dead").dataset.count === n, dead, { timeout: 15000 });
  } catch (e) { /* report what it shows */ }
  out.admin_dead = await admin.evaluate(() =>
    Array.from(document.querySelectorAll("#pipeline-dead [data-reason]"), (e) => [e.dataset.reason, e.textContent]));
} catch (e) {
  out.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
