// Browser test of the live testing page (ctest e2e_browser): headless Chromium (Debian's
// `chromium`) driven by playwright-core opens the gateway's /, enters the token, sends an edit
// and sees it in the page's live table and in MySQL, then sends an older edit of the same cell
// and sees it marked stale and the stale counter move, then a replay marked duplicate.
// Screenshots (wide and narrow) go to $SHEETSYNC_ARTIFACT_DIR (default: the working directory).
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { check, fail, loadRunEnv, mysql, uuid } from "./lib/stack.mjs";

const env = loadRunEnv();
const artifacts = process.env.SHEETSYNC_ARTIFACT_DIR || process.cwd();
fs.mkdirSync(artifacts, { recursive: true });
const STEP_MS = 20000;  // per wait; generous for a loaded 2-core CI machine

const browser = await chromium.launch({
  executablePath: process.env.SHEETSYNC_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"],
  timeout: 30000,
});
const problems = [];
try {
  const page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
  page.setDefaultTimeout(STEP_MS);
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  // The browser asks for /favicon.ico, which the gateway guards with the token (401): not the page's fault.
  const ignored = (url) => new URL(url).pathname === "/favicon.ico";
  page.on("console", (m) => {
    if (m.type() === "error" && !ignored(m.location().url || env.SHEETSYNC_GATEWAY_URL)) problems.push(`console error: ${m.text()}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400 && !ignored(r.url())) problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });

  const resp = await page.goto(env.SHEETSYNC_GATEWAY_URL + "/", { waitUntil: "load" });
  check(resp.status() === 200, "GET / answers 200");
  check((await page.title()).includes("sheetsync"), "the page has its title");

  await page.fill("#token", env.SHEETSYNC_GATEWAY_TOKEN);
  await page.click("#token-save");
  await page.waitForSelector("#feed-state.ok");
  check(await page.evaluate(() => sessionStorage.getItem("sheetsync.token")) === env.SHEETSYNC_GATEWAY_TOKEN,
        "the token is kept in sessionStorage");

  // 1. A fresh row, sent now.
  await page.click("#row-new");
  const row = await page.inputValue("#row-id");
  check(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(row), `"New" makes a UUID (${row})`);
  const name = `Ada ${uuid().slice(0, 8)}`;
  await page.locator(".cell-row").nth(0).locator(".cell-name").fill("name");
  await page.locator(".cell-row").nth(0).locator(".cell-value").fill(name);
  await page.locator(".cell-row").nth(1).locator(".cell-name").fill("score");
  await page.locator(".cell-row").nth(1).locator(".cell-type").selectOption("number");
  await page.locator(".cell-row").nth(1).locator(".cell-value").fill("42");
  await page.check("#ts-now");
  await page.click("#send");
  await page.waitForSelector(`#results tbody tr[data-status="applied"][data-row-id="${row}"]`);
  const sent = JSON.parse(await page.textContent("#sent"));
  check(sent.table === "users" && sent.changes.length === 1 && sent.changes[0].row_id === row &&
        sent.changes[0].cells.name === name && sent.changes[0].cells.score === 42 &&
        typeof sent.changes[0].event_id === "string" && /Z$/.test(sent.changes[0].updated_at),
        "the page shows the exact JSON it sent");
  check(await page.textContent("#c-applied") === "1", "the tab's applied counter is 1");

  const cell = page.locator(`#live-table tbody tr[data-row-id="${row}"] td[data-col="name"]`);
  await cell.waitFor();
  await page.waitForFunction(([sel, want]) => document.querySelector(sel)?.textContent === want,
    [`#live-table tbody tr[data-row-id="${row}"] td[data-col="name"]`, name], { timeout: STEP_MS });
  check(true, "the edit shows in the live table (via /v1/changes)");
  const stored = mysql(env, `SELECT name, score FROM users WHERE uuid = '${row}'`);
  check(stored.length === 1 && stored[0][0] === name && stored[0][1] === "42", `MySQL holds the edit (${JSON.stringify(stored)})`);

  // The feed's 410 path: one /v1/changes answers cursor_expired (injected by the test); the page
  // resyncs from /v1/rows and the row is still there.
  let rowsCalls = 0;
  page.on("request", (r) => { if (new URL(r.url()).pathname === "/v1/rows") rowsCalls++; });
  // The page may show a snapshot already: wait for the resync's request itself.
  const resync = page.waitForRequest((r) => new URL(r.url()).pathname === "/v1/rows",
    { timeout: STEP_MS });
  await page.route("**/v1/changes?*", (route) => route.fulfill({
    status: 410, contentType: "application/json",
    body: JSON.stringify({ error: { code: "cursor_expired", message: "injected by the e2e test" } }),
  }), { times: 1 });
  await resync;
  await page.waitForFunction(() => /snapshot of/.test(document.querySelector("#feed-info").textContent), null,
    { timeout: STEP_MS });
  check(rowsCalls >= 1, "a 410 from /v1/changes makes the page resync from /v1/rows");
  await page.waitForSelector(`#live-table tbody tr[data-row-id="${row}"]`);
  await page.waitForSelector("#feed-state.ok");
  check(true, "after the resync the row is still in the live table and the feed is live");
  problems.splice(0, problems.length, ...problems.filter((p) => !p.includes("410")));  // the injected one

  // 2. An older edit of the same cell: stale, and the stale counter moves.
  const staleBefore = Number(await page.textContent("#c-stale"));
  await page.locator(".cell-row").nth(0).locator(".cell-value").fill("Older value");
  await page.locator(".cell-row").nth(1).locator(".cell-remove").click();
  await page.click('#ts-presets button[data-offset="-3600000"]');
  check(await page.isChecked("#ts-chosen"), 'the "− 1 h" preset selects a chosen time');
  await page.click("#send");
  const staleRow = page.locator(`#results tbody tr[data-status="stale"][data-row-id="${row}"]`);
  await staleRow.waitFor();
  const sentOld = JSON.parse(await page.textContent("#sent"));
  const age = Date.now() - Date.parse(sentOld.changes[0].updated_at);
  check(age > 3500e3 && age < 3700e3, `the stale edit was stamped an hour ago (${sentOld.changes[0].updated_at})`);
  check((await staleRow.textContent()).includes(name), "the stale result shows the value that was kept");
  const staleAfter = Number(await page.textContent("#c-stale"));
  check(staleAfter === staleBefore + 1, `the stale counter moved ${staleBefore} -> ${staleAfter}`);
  const still = mysql(env, `SELECT name FROM users WHERE uuid = '${row}'`);
  check(still[0][0] === name, "MySQL still holds the newer value");

  // 3. The same body again: duplicate.
  await page.click("#resend");
  await page.waitForSelector(`#results tbody tr[data-status="duplicate"][data-row-id="${row}"]`);
  check(await page.textContent("#c-duplicate") === "1", "a replay is marked duplicate and counted");

  // The gateway's own metrics were read (apply p99 since start is a number).
  await page.waitForFunction(() => /\d/.test(document.querySelector("#m-p99-all").textContent), null, { timeout: STEP_MS });
  check(true, `gateway apply p99 shown (${await page.textContent("#m-p99-all")})`);
  await page.waitForTimeout(600);  // let the row highlight fade a little for the picture
  const wide = path.join(artifacts, "dashboard.png");
  await page.screenshot({ path: wide, fullPage: true });
  console.log(`screenshot: ${wide}`);

  // Narrow screen: nothing wider than the viewport but the scrollable tables.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(200);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `no horizontal page overflow at 390 px (overflow ${overflow})`);
  const narrow = path.join(artifacts, "dashboard-narrow.png");
  await page.screenshot({ path: narrow, fullPage: true });
  console.log(`screenshot: ${narrow}`);

  check(problems.length === 0, `no console or page errors${problems.length ? ": " + problems.join("; ") : ""}`);
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
}
console.log("browser test passed");
