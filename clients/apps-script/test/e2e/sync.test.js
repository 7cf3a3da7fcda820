// End to end: the unchanged .gs client in fake sheets, against the REAL running stack
// (gateway + services + MariaDB), checked with the mariadb client. Skips with the reason when
// no stack answers, and skips the MySQL -> sheet cases while the gateway lacks GET /v1/changes.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { createEnv } = require('../harness/gas');
const { closedPortUrl, queued, status, syncedState } = require('../harness/fixtures');
const { detectStack, sql, sqlInBackground, q, mysqlRows, http } = require('../harness/stack');

const stack = detectStack();
const cfg = stack.cfg;
const skip = stack.skip;
const feedSkip = skip || stack.feedSkip;
if (skip) process.stdout.write(`# e2e skipped: ${skip}\n`);
else if (feedSkip) process.stdout.write(`# e2e MySQL->sheet cases skipped: ${feedSkip}\n`);

const run = crypto.randomBytes(3).toString('hex');
const KINDS = 'name:text, email:text, score:number';

/**
 * Returns a fake spreadsheet connected to the real gateway through the Connect dialog.
 * Utilities.sleep is recorded but not slept (sleepScale 0): retry waits are unit-tested, and
 * here they would only slow the "gateway down" cases by seconds.
 */
function connectSheet(label) {
  const env = createEnv({ spreadsheetId: `e2e-${label}-${run}`, timeZone: 'Europe/Berlin', sleepScale: 0 });
  env.sheet().getRange(1, 1, 1, 3).setValues([['name', 'email', 'score']]);
  const msg = env.call('connect', {
    url: cfg.SHEETSYNC_GATEWAY_URL, token: cfg.SHEETSYNC_GATEWAY_TOKEN, table: 'users',
    sheetName: 'Sheet1', keyColumn: 'uuid', kinds: KINDS,
  });
  assert.match(msg, /^Connected "Sheet1" to table users/);
  return env;
}

/** Types a new row at the bottom of the sheet; returns its UUID. */
function typeRow(env, values) {
  const sheet = env.sheet();
  const r = sheet.getLastRow() + 1;
  if (r > sheet.getMaxRows()) sheet.insertRowsAfter(sheet.getMaxRows(), 100);
  env.user.edit(`B${r}`, [values]);
  const id = sheet.getRange(r, 1).getValue();
  assert.match(id, /^[0-9a-f-]{36}$/);
  return id;
}

/** Returns the sheet row number of a UUID, or 0. */
function rowOf(env, id) {
  const keys = env.sheet().getRange(1, 1, Math.max(env.sheet().getLastRow(), 1), 1).getValues();
  return keys.findIndex(([k]) => k === id) + 1;
}

/** Returns {uuid: {name, email, score}} as the sheet shows the given rows. */
function sheetRows(env, ids) {
  const out = {};
  const values = env.values();
  for (const row of values.slice(1)) {
    if (!ids.includes(row[0])) continue;
    const cell = (v) => (v === '' ? null : v);
    out[row[0]] = { name: cell(row[1]), email: cell(row[2]), score: row[3] === '' ? null : Number(row[3]) };
  }
  return out;
}

/**
 * Waits (up to ms) until the feed, read as `env`'s next pull reads it (its cursor, its origin
 * excluded), shows an entry for `id` that satisfies ok — i.e. until MySQL-side capture
 * (contract §3, within 2 s) has logged the SQL write.
 */
function waitForFeed(env, id, ok, ms = 10000) {
  const deadline = Date.now() + ms;
  const since = encodeURIComponent(env.props.document.getProperty('sheetsync.cursor') || '');
  for (;;) {
    const res = http(cfg, 'GET', `/v1/changes?table=users&limit=5000&since=${since}&exclude_origin=${env.spreadsheet.id}`);
    const page = res.status === 200 ? JSON.parse(res.body) : { changes: [] };
    const entry = page.changes.filter((c) => c.row_id === id).pop();
    if (entry && ok(entry)) return entry;
    if (Date.now() > deadline) throw new Error(`the feed did not show the change to ${id} within ${ms} ms (MySQL-side capture, contract §3); last: ${JSON.stringify(entry)}`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
}

/** Edits sent by the last call(s) since `mark` (fetch log index). */
function editsSince(env, mark) {
  return env.fetchLog.slice(mark).filter((f) => f.method === 'POST' && f.url.endsWith('/v1/edits'))
    .flatMap((f) => JSON.parse(f.body).changes);
}

test('an edit in the sheet becomes a row in MySQL: typed values, plain text kept, clears as NULL', { skip }, () => {
  const env = connectSheet('edit');
  const id = typeRow(env, ['Ada', `ada-${run}@example.com`, '42']);
  assert.deepEqual(mysqlRows(cfg, [id])[id], { name: 'Ada', email: `ada-${run}@example.com`, score: 42 });
  const r = rowOf(env, id);
  env.user.edit(`B${r}`, '007');
  env.user.clear(`D${r}`);
  assert.deepEqual(mysqlRows(cfg, [id])[id], { name: '007', email: `ada-${run}@example.com`, score: null });
  assert.equal(queued(env).length, 0);
  assert.deepEqual(status(env).rejected, []);
});

test('a value MySQL cannot hold is rejected with its reason in Status and a note on the cell', { skip }, () => {
  const env = connectSheet('reject');
  const id = typeRow(env, ['Rex', '', '1']);
  const r = rowOf(env, id);
  env.user.edit(`D${r}`, 'many');
  const st = status(env);
  assert.equal(st.rejected.length, 1);
  assert.equal(st.rejected[0].row_id, id);
  assert.ok(st.rejected[0].code, 'a snake_case code');
  assert.match(env.sheet().getRange(`D${r}`).getNote(), /^sheetsync: rejected many: /);
  assert.equal(mysqlRows(cfg, [id])[id].score, 1);
  env.call('syncNow');
  assert.equal(editsSince(env, 0).filter((c) => c.cells && c.cells.score === 'many').length, 1, 'not re-sent');
});

test('a row deleted in the sheet is gone from MySQL', { skip }, () => {
  const env = connectSheet('delete');
  const keep = typeRow(env, ['Keep', '', '1']);
  const gone = typeRow(env, ['Gone', '', '2']);
  assert.equal(Object.keys(mysqlRows(cfg, [keep, gone])).length, 2);
  env.user.deleteRows(rowOf(env, gone), 1);  // onChange REMOVE_ROW: reconcile + flush
  assert.deepEqual(Object.keys(mysqlRows(cfg, [keep, gone])), [keep]);
  assert.equal(queued(env).length, 0);
});

test('an older edit that loses to a newer write gets the winning value from `current` and a note', { skip }, async () => {
  const env = connectSheet('conflict');
  const id = typeRow(env, ['Cleo', 'cleo@old', '3']);
  const r = rowOf(env, id);
  env.props.document.setProperty('sheetsync.url', await closedPortUrl());  // A is offline: its edit waits
  env.user.edit(`C${r}`, 'cleo@sheet');
  assert.equal(queued(env).length, 1);
  const later = new Date(Date.now() + 1000).toISOString();
  const other = http(cfg, 'POST', '/v1/edits', {
    spreadsheet_id: `e2e-other-${run}`, table: 'users',
    changes: [{ event_id: crypto.randomUUID(), row_id: id, updated_at: later, cells: { email: 'cleo@other' } }],
  });
  assert.equal(other.status, 200, other.body);
  env.props.document.setProperty('sheetsync.url', cfg.SHEETSYNC_GATEWAY_URL);
  env.call('syncNow');
  assert.equal(env.sheet().getRange(`C${r}`).getValue(), 'cleo@other');
  assert.match(env.sheet().getRange(`C${r}`).getNote(), new RegExp(`overwritten by cleo@other, a newer value from another sheet \\(e2e-other-${run}\\) at `));
  assert.equal(mysqlRows(cfg, [id])[id].email, 'cleo@other');
  const mark = env.fetchLog.length;
  env.call('syncNow');
  assert.deepEqual(editsSince(env, mark), [], 'the winning value is not sent back');
});

test('gateway down during a burst of edits: nothing is lost once it is back', { skip }, async () => {
  const env = connectSheet('burst');
  const ids = [typeRow(env, ['B0', '', '0']), typeRow(env, ['B1', '', '1']), typeRow(env, ['B2', '', '2'])];
  env.props.document.setProperty('sheetsync.url', await closedPortUrl());
  const expected = {};
  for (let i = 0; i < 25; i++) {
    const id = ids[i % 3];
    env.user.edit(`B${rowOf(env, id)}`, [[`v${i}`, `b${i}@x`, String(i)]]);
    expected[id] = { name: `v${i}`, email: `b${i}@x`, score: i };
  }
  const fresh = typeRow(env, ['New while down', '', '99']);
  expected[fresh] = { name: 'New while down', email: null, score: 99 };
  env.user.deleteRows(rowOf(env, ids[2]), 1);
  delete expected[ids[2]];
  assert.ok(queued(env).length >= 27);
  assert.match(status(env).errors.map((e) => e.message).join('\n'), /Cannot reach the gateway/);
  assert.ok(Object.values(mysqlRows(cfg, ids)).every((row) => /^B\d$/.test(row.name)), 'nothing reached MySQL yet');
  env.props.document.setProperty('sheetsync.url', cfg.SHEETSYNC_GATEWAY_URL);
  env.call('syncNow');
  assert.equal(queued(env).length, 0);
  assert.deepEqual(mysqlRows(cfg, [...ids, fresh]), expected);
});

test('an SQL UPDATE reaches the sheet after one pull, and is not sent back', { skip: feedSkip }, () => {
  const env = connectSheet('pull');
  const id = typeRow(env, ['Pat', 'pat@sheet', '1']);
  sql(cfg, `UPDATE users SET email = 'pat@sql', score = 7 WHERE uuid = ${q(id)}`);
  waitForFeed(env, id, (e) => e.cells.email === 'pat@sql' && e.cells.score === 7);
  const mark = env.fetchLog.length;
  env.call('syncTick');
  assert.deepEqual(sheetRows(env, [id])[id], { name: 'Pat', email: 'pat@sql', score: 7 });
  assert.deepEqual(editsSince(env, mark), []);
  env.call('syncTick');
  assert.deepEqual(editsSince(env, mark), [], 'applying pulled values queues no edits');
});

test('a row deleted in MySQL is gone from the sheet', { skip: feedSkip }, () => {
  const env = connectSheet('sqldelete');
  const id = typeRow(env, ['Sid', '', '5']);
  sql(cfg, `DELETE FROM users WHERE uuid = ${q(id)}`);
  waitForFeed(env, id, (e) => e.deleted === true);
  env.call('syncTick');
  assert.equal(rowOf(env, id), 0);
  assert.deepEqual(mysqlRows(cfg, [id]), {});
});

/** Pulls once, as a run's pull does. */
function pullOnce(env) {
  env.run('const ctx = newContext_(loadSettings_(), { manual: true }); ' +
    'return withScriptLock_(ctx, 1000, function () { return pull_(ctx); });');
}

// A POST whose answer was lost (a fetch timeout, a killed run) is sent again, and the gateway
// answers `duplicate`, which says nothing of how the first one came out. Here it lost to a newer
// SQL write that a pull has already gone past (the cell kept the person's queued value), so
// taking the duplicate as applied would leave the sheet and MySQL apart for good.
test('an edit whose answer was lost, answered duplicate when sent again, still gets the winner', { skip: feedSkip }, async () => {
  const env = connectSheet('replay');
  const id = typeRow(env, ['Eve', 'eve@old', '5']);
  const r = rowOf(env, id);
  env.props.document.setProperty('sheetsync.url', await closedPortUrl());
  env.user.edit(`C${r}`, 'eve@sheet');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  sql(cfg, `UPDATE users SET email = 'eve@mysql' WHERE uuid = ${q(id)}`);
  env.props.document.setProperty('sheetsync.url', cfg.SHEETSYNC_GATEWAY_URL);
  waitForFeed(env, id, (e) => e.cells.email === 'eve@mysql');
  pullOnce(env);
  assert.equal(env.sheet().getRange(`C${r}`).getValue(), 'eve@sheet', 'a queued edit keeps its cell');
  const [edit] = queued(env);
  const lost = http(cfg, 'POST', '/v1/edits', { spreadsheet_id: env.spreadsheet.id, table: 'users', changes: [edit] });
  assert.equal(JSON.parse(lost.body).results[0].status, 'stale', lost.body);
  env.call('syncNow');
  env.call('syncNow');
  assert.equal(mysqlRows(cfg, [id])[id].email, 'eve@mysql');
  assert.equal(env.sheet().getRange(`C${r}`).getValue(), 'eve@mysql');
  assert.equal(syncedState(env)[id].c.email, 'eve@mysql');
  assert.equal(queued(env).length, 0);
});

test('two sheets and SQL writers editing at once converge: both sheets equal MySQL', { skip: feedSkip }, async () => {
  const a = connectSheet('A');
  const b = connectSheet('B');
  const ids = [];
  for (let i = 0; i < 6; i++) ids.push(typeRow(a, [`r${i}`, `r${i}@a`, String(i)]));
  b.call('syncNow');
  assert.deepEqual(sheetRows(b, ids), sheetRows(a, ids));
  const sqlId = crypto.randomUUID();
  ids.push(sqlId);
  const writer = sqlInBackground(cfg, [
    `UPDATE users SET name = 'sql-0' WHERE uuid = ${q(ids[0])};`,
    'DO SLEEP(0.05);',
    `UPDATE users SET score = 100 WHERE uuid = ${q(ids[3])};`,
    `INSERT INTO users (uuid, name, email, score) VALUES (${q(sqlId)}, 'from sql', NULL, 9);`,
    'DO SLEEP(0.05);',
    `UPDATE users SET email = 'sql@x' WHERE uuid = ${q(ids[1])};`,
    `DELETE FROM users WHERE uuid = ${q(ids[5])};`,
  ].join('\n'));
  a.user.edit(`B${rowOf(a, ids[0])}`, 'a-0');
  b.user.edit(`C${rowOf(b, ids[0])}`, 'b0@b');
  b.user.edit(`B${rowOf(b, ids[1])}`, 'b-1');
  a.user.edit(`B${rowOf(a, ids[1])}`, 'a-1');
  a.user.deleteRows(rowOf(a, ids[4]), 1);
  b.user.edit(`D${rowOf(b, ids[2])}`, '22');
  a.call('syncNow');
  b.call('syncNow');
  await writer;
  const all = () => ({ a: sheetRows(a, ids), b: sheetRows(b, ids), mysql: mysqlRows(cfg, ids) });
  const deadline = Date.now() + 20000;
  let seen;
  for (;;) {
    a.call('syncNow');
    b.call('syncNow');
    seen = all();
    const same = JSON.stringify(sortKeys(seen.a)) === JSON.stringify(sortKeys(seen.mysql)) &&
      JSON.stringify(sortKeys(seen.b)) === JSON.stringify(sortKeys(seen.mysql));
    if (same && seen.mysql[sqlId] && !seen.mysql[ids[5]]) break;
    if (Date.now() > deadline) assert.fail(`no convergence within 20 s: ${JSON.stringify(seen, null, 1)}`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
  }
  assert.equal(seen.mysql[ids[4]], undefined, 'the row deleted in sheet A is gone');
  assert.equal(seen.mysql[ids[2]].score, 22);
  assert.equal(seen.mysql[sqlId].name, 'from sql');
  const mark = a.fetchLog.length;
  a.call('syncNow');
  assert.deepEqual(editsSince(a, mark), [], 'a settled sheet sends nothing');
  assert.equal(queued(a).length + queued(b).length, 0);
});

function sortKeys(obj) {
  return Object.keys(obj).sort().map((k) => [k, obj[k]]);
}
