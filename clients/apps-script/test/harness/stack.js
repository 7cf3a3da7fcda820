// The real running stack for the end-to-end tests: its settings (environment variables
// SHEETSYNC_GATEWAY_URL, SHEETSYNC_GATEWAY_TOKEN, SHEETSYNC_MYSQL_* or the .sheetsync/run.env
// that `scripts/run.sh start` writes), whether it answers, which routes it has, and SQL through
// the `mariadb` command-line client. Nothing here fakes the server.
'use strict';

const { execFileSync, spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const KEYS = ['SHEETSYNC_GATEWAY_URL', 'SHEETSYNC_GATEWAY_TOKEN', 'SHEETSYNC_MYSQL_HOST', 'SHEETSYNC_MYSQL_PORT',
  'SHEETSYNC_MYSQL_USER', 'SHEETSYNC_MYSQL_PASSWORD', 'SHEETSYNC_MYSQL_DATABASE'];

/** Reads run.env by sourcing it in bash (its values are shell-quoted). */
function readRunEnv(file) {
  const r = spawnSync('bash', ['-c', 'set -a; source "$1" >/dev/null 2>&1; env -0', '_', file], { encoding: 'utf8', env: {} });
  const out = {};
  for (const entry of (r.stdout || '').split('\0')) {
    const i = entry.indexOf('=');
    if (i > 0 && KEYS.includes(entry.slice(0, i))) out[entry.slice(0, i)] = entry.slice(i + 1);
  }
  return out;
}

/** Returns the stack settings, or null with `why` when there are none. */
function stackSettings() {
  if (process.env.SHEETSYNC_GATEWAY_URL) {
    const missing = KEYS.filter((k) => !process.env[k]);
    if (missing.length) return { cfg: null, why: `environment lacks ${missing.join(', ')}` };
    return { cfg: Object.fromEntries(KEYS.map((k) => [k, process.env[k]])), why: '' };
  }
  const file = process.env.SHEETSYNC_RUN_ENV || path.join(REPO_ROOT, '.sheetsync', 'run.env');
  if (!fs.existsSync(file)) return { cfg: null, why: `no ${file} (start the stack with scripts/run.sh start) and no SHEETSYNC_GATEWAY_URL` };
  const cfg = readRunEnv(file);
  const missing = KEYS.filter((k) => !cfg[k]);
  if (missing.length) return { cfg: null, why: `${file} lacks ${missing.join(', ')}` };
  return { cfg, why: '' };
}

/** Sends one HTTP request with curl; returns {status, body} (status 0: no answer). */
function http(cfg, method, route, body) {
  const args = ['-sS', '-X', method, '--max-time', '10', '-o', '-', '-w', '\n%{http_code}',
    '-H', `Authorization: Bearer ${cfg.SHEETSYNC_GATEWAY_TOKEN}`];
  if (body !== undefined) args.push('-H', 'Content-Type: application/json', '--data-binary', '@-');
  args.push(cfg.SHEETSYNC_GATEWAY_URL + route);
  const r = spawnSync('curl', args, { input: body === undefined ? '' : JSON.stringify(body), encoding: 'utf8' });
  if (r.status !== 0) return { status: 0, body: r.stderr };
  const nl = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(nl + 1)), body: r.stdout.slice(0, nl) };
}

/** Returns whether a 404 answer means "no such route" (not "no such table"). */
function isNoRoute(res) {
  return res.status === 404 && /no route|"not_found"/.test(res.body);
}

/**
 * Looks at the stack once: {cfg, skip, feedSkip}. `skip` is a reason to skip every end-to-end
 * test (no stack, not ready, no mariadb client); `feedSkip` one to skip tests that need
 * GET /v1/changes.
 */
function detectStack() {
  const { cfg, why } = stackSettings();
  if (!cfg) return { cfg: null, skip: `no running sheetsync stack: ${why}`, feedSkip: 'no stack' };
  const ready = spawnSync('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '3', `${cfg.SHEETSYNC_GATEWAY_URL}/readyz`], { encoding: 'utf8' });
  if (ready.stdout !== '200') {
    return { cfg: null, skip: `no sheetsync stack reachable at ${cfg.SHEETSYNC_GATEWAY_URL} (/readyz: ${ready.stdout || ready.stderr.trim()})`, feedSkip: 'no stack' };
  }
  if (spawnSync('mariadb', ['--version']).status !== 0) return { cfg: null, skip: 'the mariadb client is not installed', feedSkip: 'no client' };
  const edits = http(cfg, 'POST', '/v1/edits', { table: 'users', changes: [] });
  if (edits.status !== 200) return { cfg: null, skip: `POST /v1/edits for table users answers ${edits.status}: ${edits.body}`, feedSkip: 'no edits' };
  const feed = http(cfg, 'GET', '/v1/changes?table=users&limit=1');
  const feedSkip = isNoRoute(feed) ? `the gateway has no GET /v1/changes route yet (404 no route: ${feed.body.trim()})` :
    feed.status !== 200 ? `GET /v1/changes answers ${feed.status}: ${feed.body.trim()}` : false;
  return { cfg, skip: false, feedSkip };
}

function mysqlArgs(cfg) {
  return ['--no-defaults', '-h', cfg.SHEETSYNC_MYSQL_HOST, '-P', String(cfg.SHEETSYNC_MYSQL_PORT),
    '-u', cfg.SHEETSYNC_MYSQL_USER, '--connect-timeout=5', '-N', '-B', cfg.SHEETSYNC_MYSQL_DATABASE];
}

/** Runs SQL; returns rows as arrays of strings (NULL as null). */
function sql(cfg, statement) {
  const out = execFileSync('mariadb', [...mysqlArgs(cfg), '-e', statement], {
    encoding: 'utf8', env: { ...process.env, MYSQL_PWD: cfg.SHEETSYNC_MYSQL_PASSWORD },
  });
  return out.split('\n').filter((l) => l !== '').map((l) => l.split('\t').map((v) => (v === 'NULL' ? null : v)));
}

/** Starts SQL in the background (a concurrent writer); resolves when it ends. */
function sqlInBackground(cfg, script) {
  return new Promise((resolve, reject) => {
    const child = spawn('mariadb', mysqlArgs(cfg), { env: { ...process.env, MYSQL_PWD: cfg.SHEETSYNC_MYSQL_PASSWORD } });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mariadb exited ${code}: ${err}`))));
    child.stdin.end(script);
  });
}

/** Quotes a string for SQL. */
function q(s) {
  return s === null ? 'NULL' : `'${String(s).replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** Returns {uuid: {name, email, score}} of the given rows in MySQL. */
function mysqlRows(cfg, uuids) {
  if (uuids.length === 0) return {};
  const rows = sql(cfg, `SELECT uuid, name, email, score FROM users WHERE uuid IN (${uuids.map(q).join(',')})`);
  return Object.fromEntries(rows.map(([u, name, email, score]) => [u, { name, email, score: score === null ? null : Number(score) }]));
}

module.exports = { detectStack, sql, sqlInBackground, q, mysqlRows, http, REPO_ROOT };
