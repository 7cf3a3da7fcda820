// Live checks of what the running stack exports (fixture `stack`); first drives every outcome
// (applied, stale, duplicate, rejected, MySQL capture, conflict) so that every labelled series
// exists (prometheus-cpp shows a labelled counter only after its first increment).
//
//   node metrics_test.mjs names   every metric the dashboard and the alert rules read appears in a
//                                 live scrape of some process (Prometheus's own per-target series
//                                 such as `up` are checked by prometheus_test.mjs instead)
//   node metrics_test.mjs lint    `promtool check metrics` passes on every process's /metrics
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { check, driveEveryOutcome, fail, loadRunEnv, parseMetrics, scrapeAll } from "./lib/stack.mjs";
import { SYNTHETIC, dashboardQueries, loadDashboard, metricNames, ruleQueries, substituteVariables } from "./lib/promql.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const mode = process.argv[2];
if (mode !== "names" && mode !== "lint") fail("usage: metrics_test.mjs names|lint");

const env = loadRunEnv();
await driveEveryOutcome(env);
const scrapes = await scrapeAll(env);
check(scrapes.length === env.metricsUrls.length && scrapes.length >= 4, `scraped ${scrapes.length} processes`);

if (mode === "names") {
  const exported = new Map();  // sample or family name -> URLs
  for (const { url, text } of scrapes) {
    const names = new Set(parseMetrics(text).map((s) => s.name));
    for (const m of text.matchAll(/^# TYPE (\S+) /gm)) names.add(m[1]);
    for (const n of names) exported.set(n, [...(exported.get(n) || []), url]);
  }
  const queries = [
    ...dashboardQueries(loadDashboard(path.join(root, "deploy/grafana/sheetsync-dashboard.json")))
      .map((q) => ({ ...q, where: `dashboard ${q.where}` })),
    ...ruleQueries(path.join(root, "deploy/prometheus/alerts.yaml")).map((q) => ({ ...q, where: `alert ${q.where}` })),
  ];
  const used = new Map();  // metric -> where
  for (const q of queries) {
    for (const n of metricNames(substituteVariables(q.expr))) used.set(n, [...(used.get(n) || []), q.where]);
  }
  check(used.size > 0, `${queries.length} queries read ${used.size} metrics`);
  let missing = 0;
  for (const [name, where] of [...used].sort()) {
    if (SYNTHETIC.has(name)) { console.log(`skip - ${name} is made by Prometheus (checked by e2e_prometheus)`); continue; }
    if (exported.has(name)) console.log(`ok - ${name} (${exported.get(name).length} processes)`);
    else { missing++; console.log(`MISSING - ${name}, used by: ${where.join("; ")}`); }
  }
  check(missing === 0, `every metric the dashboard and alerts read is exported (${missing} missing)`);
} else {
  let bad = 0;
  for (const { url, text } of scrapes) {
    const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8", timeout: 30000 });
    if (r.error) fail(`promtool: ${r.error.message} (apt-get install prometheus)`);
    const out = (r.stdout + r.stderr).trim();
    if (r.status === 0 && !out) console.log(`ok - promtool check metrics ${url}`);
    else { bad++; console.log(`FAIL - promtool check metrics ${url} (exit ${r.status}):\n${out}`); }
  }
  check(bad === 0, `promtool check metrics passes on all ${scrapes.length} scrapes`);
}
