// End-to-end test with a real Prometheus (ctest e2e_prometheus, fixture `stack`): starts Debian's
// `prometheus` on 127.0.0.1 (free port, temp dir) scraping every URL of SHEETSYNC_METRICS_URLS each
// second with the alert rules of deploy/prometheus/alerts.yaml loaded, sends edits through the
// gateway and reads the sync counters back through /api/v1/query, asserting their exact values;
// then evaluates every dashboard and alert query on it. Stops Prometheus (by its PID) at the end.
// Runs under RESOURCE_LOCK stack_counters: nothing else writes to the stack meanwhile.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { check, fail, isoAgo, loadRunEnv, postEdits, scrapeAll, sumSamples, uuid, waitFor } from "./lib/stack.mjs";
import { dashboardQueries, loadDashboard, ruleQueries, substituteVariables } from "./lib/promql.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const env = loadRunEnv();
const artifacts = process.env.SHEETSYNC_ARTIFACT_DIR || os.tmpdir();
fs.mkdirSync(artifacts, { recursive: true });

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// ---- start Prometheus
const work = fs.mkdtempSync(path.join(os.tmpdir(), "sheetsync-prometheus-"));
const port = await freePort();
const gatewayMetrics = `${env.SHEETSYNC_GATEWAY_URL}/metrics`;
const jobs = env.metricsUrls.map((u, i) => {
  const url = new URL(u);
  const job = u === gatewayMetrics ? "sheetsync-gateway" : `sheetsync-tier-${i}`;
  return `  - job_name: ${job}\n    metrics_path: ${url.pathname}\n    static_configs:\n      - targets: ["${url.host}"]\n`;
});
fs.writeFileSync(path.join(work, "prometheus.yml"),
  `global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\n` +
  `rule_files:\n  - ${JSON.stringify(path.join(root, "deploy/prometheus/alerts.yaml"))}\n` +
  `scrape_configs:\n${jobs.join("")}`);
const logFile = path.join(artifacts, "prometheus.log");
const log = fs.openSync(logFile, "w");
const prom = spawn("prometheus", [
  `--config.file=${path.join(work, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(work, "data")}`,
  `--web.listen-address=127.0.0.1:${port}`, "--storage.tsdb.retention.time=1h", "--log.level=warn",
], { stdio: ["ignore", log, log] });
let exited = null;
prom.on("exit", (code, signal) => { exited = { code, signal }; });
prom.on("error", (e) => { exited = { error: e.message }; });
const base = `http://127.0.0.1:${port}`;

async function stopPrometheus() {
  if (exited) return;
  prom.kill("SIGTERM");
  const deadline = Date.now() + 10000;
  while (!exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (!exited) { prom.kill("SIGKILL"); await new Promise((r) => setTimeout(r, 500)); }
}
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => { prom.kill("SIGKILL"); process.exit(1); });
const must = (cond, message) => check(cond, message);

async function query(expr) {
  const resp = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(5000) });
  const body = await resp.json();
  if (body.status !== "success") throw new Error(`query ${expr}: ${body.errorType}: ${body.error}`);
  return body.data;
}
// The value of a query that sums to one sample; 0 when the series does not exist yet.
async function scalar(expr) {
  const data = await query(expr);
  return data.result.length ? Number(data.result[0].value[1]) : 0;
}

try {
  await waitFor("Prometheus to be ready", async () => {
    if (exited) { console.error(fs.readFileSync(logFile, "utf8")); fail(`prometheus exited: ${JSON.stringify(exited)}`); }
    try { return (await fetch(`${base}/-/ready`, { signal: AbortSignal.timeout(1000) })).status === 200; } catch { return false; }
  }, 30000, 200);
  must(true, `Prometheus ready on ${base} (pid ${prom.pid})`);
  const n = env.metricsUrls.length;
  await waitFor(`all ${n} targets up`, async () => (await scalar('count(up{job=~"sheetsync-.*"} == 1)')) === n, 20000, 500);
  must(true, `all ${n} sheetsync targets are up`);

  // ---- edits through the gateway, counters read back through Prometheus
  const COUNTERS = {
    received: ['sheetsync_changes_received_total', { source: "SHEET", table: "users" }],
    applied: ["sheetsync_changes_applied_total", { table: "users" }],
    stale: ["sheetsync_stale_dropped_total", { table: "users" }],
    duplicates: ["sheetsync_duplicates_total", { table: "users" }],
    requests: ["sheetsync_apply_seconds_count", {}],
  };
  const promql = ([name, labels]) =>
    `sum(${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(",")}})`;
  async function direct() {
    const scrapes = await scrapeAll(env);
    return Object.fromEntries(Object.entries(COUNTERS).map(([k, [name, labels]]) => [k, sumSamples(scrapes, name, labels)]));
  }
  // Waits until Prometheus agrees with `want` on every counter; returns what it read.
  async function prometheusReaches(want, what) {
    let got = {};
    const ok = await waitFor(what, async () => {
      for (const [k, c] of Object.entries(COUNTERS)) got[k] = await scalar(promql(c));
      return Object.keys(want).every((k) => got[k] === want[k]);
    }, 15000, 250).catch((e) => { console.log(e.message); return false; });
    if (!ok) must(false, `${what}: Prometheus has ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    return got;
  }

  const before = await direct();
  await prometheusReaches(before, "Prometheus to catch up with the processes' counters");
  must(true, `baseline through Prometheus: ${JSON.stringify(before)}`);

  const rows = [uuid(), uuid(), uuid(), uuid(), uuid()];
  const first = rows.map((row) => ({ event_id: uuid(), row_id: row, updated_at: isoAgo(1000), cells: { name: `prom ${row.slice(0, 8)}`, score: 7 } }));
  let results = await postEdits(env, "users", first, "e2e-prometheus");
  must(results.every((r) => r.status === "applied"), "5 new rows applied");
  results = await postEdits(env, "users", [
    { event_id: uuid(), row_id: rows[0], updated_at: isoAgo(3600e3), cells: { name: "older" } },
    { event_id: uuid(), row_id: rows[1], updated_at: isoAgo(3600e3), cells: { score: 1 } },
  ], "e2e-prometheus");
  must(results.every((r) => r.status === "stale"), "2 older edits answered stale");
  results = await postEdits(env, "users", [first[2]], "e2e-prometheus");
  must(results[0].status === "duplicate", "a replay answered duplicate");

  const want = { received: before.received + 8, applied: before.applied + 5, stale: before.stale + 2,
                 // The replay committed nothing: not in sheetsync_apply_seconds.
                 duplicates: before.duplicates + 1, requests: before.requests + 2 };
  const got = await prometheusReaches(want, "Prometheus to show the edits");
  must(true, `through /api/v1/query: received +${got.received - before.received}, applied +${got.applied - before.applied}, ` +
    `stale +${got.stale - before.stale}, duplicates +${got.duplicates - before.duplicates}, requests +${got.requests - before.requests}`);
  const after = await direct();
  must(JSON.stringify(after) === JSON.stringify(got), "Prometheus equals the sum of the processes' own /metrics");
  const p99 = await scalar("histogram_quantile(0.99, sum by (le) (rate(sheetsync_apply_seconds_bucket[1m])))");
  must(p99 > 0 && p99 < 10, `apply p99 over the last minute is ${p99.toFixed(4)} s`);

  // ---- every dashboard and alert query evaluates on the live server
  const queries = [
    ...dashboardQueries(loadDashboard(path.join(root, "deploy/grafana/sheetsync-dashboard.json"))).map((q) => ({ ...q, where: `dashboard ${q.where}` })),
    ...ruleQueries(path.join(root, "deploy/prometheus/alerts.yaml")).map((q) => ({ ...q, where: `alert ${q.where}` })),
  ];
  let failed = 0;
  for (const q of queries) {
    try { await query(substituteVariables(q.expr)); } catch (e) { failed++; console.log(`FAIL ${q.where}: ${e.message}`); }
  }
  must(failed === 0, `all ${queries.length} dashboard and alert queries evaluate on Prometheus`);
  for (const name of ["up", "scrape_duration_seconds", "scrape_samples_scraped"]) {
    const data = await query(`${name}{job=~"sheetsync-.*"}`);
    must(data.result.length === n, `${name} exists for every target (Saturation row)`);
  }
  const rules = await (await fetch(`${base}/api/v1/rules`, { signal: AbortSignal.timeout(5000) })).json();
  const loaded = rules.data.groups.flatMap((g) => g.rules);
  must(loaded.length === ruleQueries(path.join(root, "deploy/prometheus/alerts.yaml")).length &&
    loaded.every((r) => r.health === "ok"), `Prometheus loaded ${loaded.length} alert rules, all healthy`);
  const firing = loaded.filter((r) => r.state === "firing").map((r) => r.name);
  must(firing.length === 0, `no alert fires on a healthy stack${firing.length ? ": " + firing.join(", ") : ""}`);

  console.log("prometheus e2e passed");
  fs.rmSync(work, { recursive: true, force: true });
} catch (e) {
  console.log(`Prometheus log: ${logFile}; config and data: ${work}`);
  throw e;
} finally {
  await stopPrometheus();
}
