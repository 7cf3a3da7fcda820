// Helpers for e2e tests that use the `stack` CTest fixture (tests/fixtures/stack.sh): reads the
// contract's run.env, talks to the gateway, queries MySQL with the `mariadb` client, scrapes
// every process's /metrics. Every wait is bounded.
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";

const RUN_ENV_KEYS = [
  "SHEETSYNC_GATEWAY_URL", "SHEETSYNC_GATEWAY_TOKEN", "SHEETSYNC_MYSQL_HOST", "SHEETSYNC_MYSQL_PORT",
  "SHEETSYNC_MYSQL_USER", "SHEETSYNC_MYSQL_PASSWORD", "SHEETSYNC_MYSQL_DATABASE",
  "SHEETSYNC_METRICS_URLS", "SHEETSYNC_GRPC_ADDRS",
];

// Returns run.env (named by $SHEETSYNC_RUN_ENV) as an object. The file is shell-quoted, so bash
// reads it; metricsUrls and grpcAddrs are split into arrays.
export function loadRunEnv(file = process.env.SHEETSYNC_RUN_ENV) {
  if (!file) fail("SHEETSYNC_RUN_ENV is not set: run this test through ctest (fixture `stack`)");
  const script = `source "$1" && for k in ${RUN_ENV_KEYS.join(" ")}; do printf '%s\\0%s\\0' "$k" "\${!k-}"; done`;
  const r = spawnSync("bash", ["-c", script, "bash", file], { encoding: "utf8" });
  if (r.status !== 0) fail(`cannot read ${file}: ${r.stderr}`);
  const parts = r.stdout.split("\0");
  const env = {};
  for (let i = 0; i + 1 < parts.length; i += 2) env[parts[i]] = parts[i + 1];
  for (const k of RUN_ENV_KEYS) if (!env[k]) fail(`${file} has no ${k}`);
  env.metricsUrls = env.SHEETSYNC_METRICS_URLS.split(/\s+/).filter(Boolean);
  env.grpcAddrs = env.SHEETSYNC_GRPC_ADDRS.split(/\s+/).filter(Boolean);
  return env;
}

// Throws: a top-level throw ends the script with status 1 after its `finally` blocks ran (so a
// browser or a Prometheus it started is stopped first).
export function fail(message) {
  throw new Error(`FAIL: ${message}`);
}

export function check(cond, message) {
  if (!cond) fail(message);
  console.log(`ok - ${message}`);
}

export const uuid = () => randomUUID();
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn() until it returns a truthy value; fails after timeoutMs with `what`.
export async function waitFor(what, fn, timeoutMs = 10000, everyMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await sleep(everyMs);
  }
  fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

// Calls the gateway; returns {status, json, text}.
export async function gateway(env, path, { method = "GET", body, auth = true } = {}) {
  const headers = { "Content-Type": "application/json" };
  if (auth) headers.Authorization = `Bearer ${env.SHEETSYNC_GATEWAY_TOKEN}`;
  const resp = await fetch(env.SHEETSYNC_GATEWAY_URL + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15000),
  });
  const text = await resp.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: resp.status, json, text };
}

// POSTs one batch of changes to /v1/edits and returns the per-change results (fails unless 200).
export async function postEdits(env, table, changes, spreadsheetId = "e2e") {
  const r = await gateway(env, "/v1/edits", {
    method: "POST", body: { spreadsheet_id: spreadsheetId, table, changes },
  });
  if (r.status !== 200) fail(`POST /v1/edits answered ${r.status}: ${r.text}`);
  return r.json.results;
}

// Runs SQL with the `mariadb` client as run.env's user (password in MYSQL_PWD, not argv);
// returns the rows as arrays of strings (NULL as null).
export function mysql(env, sql) {
  const r = spawnSync("mariadb", [
    "--no-defaults", `--host=${env.SHEETSYNC_MYSQL_HOST}`, `--port=${env.SHEETSYNC_MYSQL_PORT}`,
    `--user=${env.SHEETSYNC_MYSQL_USER}`, "--connect-timeout=5", "--batch", "--skip-column-names",
    env.SHEETSYNC_MYSQL_DATABASE, "-e", sql,
  ], { encoding: "utf8", timeout: 20000, env: { ...process.env, MYSQL_PWD: env.SHEETSYNC_MYSQL_PASSWORD } });
  if (r.status !== 0) fail(`mariadb failed (${r.status}): ${r.stderr || r.error}`);
  return r.stdout.split("\n").filter((l) => l !== "").map((l) => l.split("\t").map((v) => (v === "NULL" ? null : v)));
}

// Returns the /metrics text of every process: [{url, text}].
export async function scrapeAll(env) {
  return Promise.all(env.metricsUrls.map(async (url) => {
    const resp = await fetch(url, { signal: AbortSignal.timeout(10000) });
    if (resp.status !== 200) fail(`${url} answered ${resp.status}`);
    return { url, text: await resp.text() };
  }));
}

// Parses Prometheus text exposition into [{name, labels, value}].
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] || "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

// Sums the samples named `name` whose labels include `match`, over every scrape.
export function sumSamples(scrapes, name, match = {}) {
  let total = 0;
  for (const { text } of scrapes) {
    for (const s of parseMetrics(text)) {
      if (s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)) total += s.value;
    }
  }
  return total;
}

// Reads the whole change feed of `table` from the beginning (at most 100 pages).
export async function readFeed(env, table) {
  const changes = [];
  let since = "";
  for (let page = 0; page < 100; page++) {
    const r = await gateway(env, `/v1/changes?table=${table}&limit=5000&since=${encodeURIComponent(since)}`);
    if (r.status !== 200) fail(`GET /v1/changes answered ${r.status}: ${r.text}`);
    changes.push(...r.json.changes);
    since = r.json.next_cursor;
    if (!r.json.has_more) return changes;
  }
  fail("the feed did not end within 100 pages");
}

export const isoAgo = (ms) => new Date(Date.now() - ms).toISOString();

// Drives every outcome the contract counts, so that every sheetsync_* series exists:
// applied, stale, duplicate, rejected, a MySQL capture (with capture lag) and a conflict
// (a sheet write that loses to a newer MySQL edit). Returns what it did.
export async function driveEveryOutcome(env, table = "users") {
  const row = uuid();
  const e1 = uuid();
  const applied = await postEdits(env, table, [
    { event_id: e1, row_id: row, updated_at: isoAgo(60000), cells: { name: "e2e-first" } },
  ]);
  if (applied[0].status !== "applied") fail(`expected applied, got ${JSON.stringify(applied[0])}`);
  const more = await postEdits(env, table, [
    { event_id: uuid(), row_id: row, updated_at: isoAgo(120000), cells: { name: "e2e-older" } },
    { event_id: e1, row_id: row, updated_at: isoAgo(60000), cells: { name: "e2e-first" } },
    { event_id: uuid(), row_id: row, updated_at: isoAgo(1000), cells: { no_such_column: 1 } },
  ]);
  const statuses = more.map((r) => r.status).join(",");
  if (statuses !== "stale,duplicate,rejected") fail(`expected stale,duplicate,rejected, got ${statuses}`);
  // A direct MySQL edit, captured within 2 s; then a sheet edit of the same cell stamped before
  // it loses to the MYSQL version: a conflict.
  mysql(env, `UPDATE \`${table}\` SET name = 'e2e-sql' WHERE uuid = '${row}'`);
  await waitFor("the MySQL edit to be captured (feed shows source MYSQL)", async () => {
    const changes = await readFeed(env, table);
    return changes.some((c) => c.row_id === row && c.source === "MYSQL");
  }, 10000, 250);
  const conflict = await postEdits(env, table, [
    { event_id: uuid(), row_id: row, updated_at: isoAgo(30000), cells: { name: "e2e-loses-to-sql" } },
  ]);
  const v = conflict[0].current_versions && conflict[0].current_versions.name;
  if (conflict[0].status !== "stale" || !v || v.source !== "MYSQL") {
    fail(`expected a stale result against the MYSQL version, got ${JSON.stringify(conflict[0])}`);
  }
  return { row };
}
