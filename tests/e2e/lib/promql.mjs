// PromQL helpers for the dashboard/alert checks: the queries of the Grafana dashboard and of the
// alert rules, Grafana variables replaced so promtool and Prometheus can parse them, and the metric
// names a query reads (a small tokenizer: enough for the queries we write, checked by selfTest()).
import fs from "node:fs";
import YAML from "yaml";

// Grafana's built-in and dashboard variables -> values Prometheus accepts.
const VARIABLES = { __rate_interval: "5m", __interval: "1m", __range: "1h", table: ".*" };

export function substituteVariables(expr) {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (whole, a, b) => {
    const v = VARIABLES[a || b];
    if (v === undefined) throw new Error(`unknown Grafana variable ${whole} in ${expr}`);
    return v;
  });
}

// Returns [{where, expr}] of every query in the dashboard (panel targets and query variables);
// a variable's label_values(metric, label) becomes `group by (label) (metric)`.
export function dashboardQueries(dashboard) {
  const out = [];
  const walk = (panels) => {
    for (const p of panels || []) {
      if (p.type === "row") { walk(p.panels); continue; }
      for (const t of p.targets || []) out.push({ where: `panel ${p.id} "${p.title}" ${t.refId}`, expr: t.expr });
    }
  };
  walk(dashboard.panels);
  for (const v of (dashboard.templating && dashboard.templating.list) || []) {
    if (v.type !== "query") continue;
    const q = typeof v.query === "string" ? v.query : v.query.query;
    const m = /^label_values\(\s*([^,]+?)\s*,\s*(\w+)\s*\)$/.exec(q);
    if (!m) throw new Error(`variable ${v.name}: only label_values(metric, label) is supported, got ${q}`);
    out.push({ where: `variable ${v.name}`, expr: `group by (${m[2]}) (${m[1]})` });
  }
  return out;
}

export function loadDashboard(file) {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

// Returns [{where, expr}] of every rule in a Prometheus rule file.
export function ruleQueries(file) {
  const doc = YAML.parse(fs.readFileSync(file, "utf8"));
  const out = [];
  for (const g of doc.groups) {
    for (const r of g.rules) out.push({ where: `${g.name}/${r.alert || r.record}`, expr: r.expr });
  }
  return out;
}

const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
  "unless", "offset", "inf", "nan", "atan2"]);

// Returns the metric names an expression selects (sorted, unique).
export function metricNames(expr) {
  let s = expr;
  s = s.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');    // strings
  s = s.replace(/\{[^}]*\}/g, " ");                                       // label matchers
  s = s.replace(/\[[^\]]*\]/g, " ");                                      // ranges, subqueries
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");  // label lists
  s = s.replace(/\boffset\s+-?\w+/g, " ");
  s = s.replace(/(^|[^\w:.])(\d+(\.\d+)?(e[+-]?\d+)?|0x[0-9a-f]+)(?![\w:])/gi, "$1 ");  // numbers
  const names = new Set();
  for (const m of s.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (m[2]) continue;                                                   // a function call
    if (KEYWORDS.has(m[1].toLowerCase())) continue;
    names.add(m[1]);
  }
  return [...names].sort();
}

// Checks metricNames() on cases like ours; throws on a mismatch.
export function selfTest() {
  const cases = [
    ['sum by (source, table) (rate(sheetsync_changes_received_total{table=~".*"}[5m]))',
      ["sheetsync_changes_received_total"]],
    ["histogram_quantile(0.99, sum by (le) (rate(sheetsync_apply_seconds_bucket[5m]))) > 2",
      ["sheetsync_apply_seconds_bucket"]],
    ['up{job=~"sheetsync-.*"} == 0', ["up"]],
    ["absent(up)", ["up"]],
    ["sum(rate(a_total[5m])) / clamp_min(sum(rate(b_total[5m])), 1e-9) > 0.05 and c > 1", ["a_total", "b_total", "c"]],
    ["sum by (table) (rate(x_total[1h] offset 5m)) or sum by (table) (rate(x_total[5m])) * 0", ["x_total"]],
    ["rate(x[5m:1m]) + on (job) group_left (instance) y", ["x", "y"]],
    ['sum(increase(m{a="b,c"}[1h]))', ["m"]],
  ];
  for (const [expr, want] of cases) {
    const got = metricNames(expr);
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      throw new Error(`metricNames(${expr}) = ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    }
  }
}

// Metrics that Prometheus makes itself for each target (not in any process's /metrics).
export const SYNTHETIC = new Set(["up", "scrape_duration_seconds", "scrape_samples_scraped",
  "scrape_samples_post_metric_relabeling", "scrape_series_added"]);
