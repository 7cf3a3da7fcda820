// The fakes behave like the Apps Script services where the client depends on it.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { createEnv } = require('../harness/gas');
const { formatDate } = require('../harness/dates');
const { startFakeGateway } = require('../harness/fake_gateway');
const { closedPortUrl } = require('../harness/fixtures');

test('row developer metadata moves with its row on insert, sort and move, and goes with a deleted row', () => {
  const env = createEnv();
  const sheet = env.sheet();
  sheet.getRange('A1:A4').setValues([['k'], ['c'], ['a'], ['b']]);
  for (const r of [2, 3, 4]) sheet.getRange(`${r}:${r}`).addDeveloperMetadata('tag', sheet.getRange(r, 1).getValue());
  const where = () => Object.fromEntries(sheet.createDeveloperMetadataFinder().withKey('tag').find()
    .map((m) => [m.getValue(), m.getLocation().getRow().getRow()]));
  sheet.insertRowsBefore(3, 2);
  assert.deepEqual(where(), { c: 2, a: 5, b: 6 });
  sheet.getRange(2, 1, 5, 1).sort(1);
  assert.deepEqual(where(), { a: 2, b: 3, c: 4 });
  sheet.deleteRows(3, 1);
  assert.deepEqual(where(), { a: 2, c: 3 });
  sheet.moveRows(sheet.getRange('3:3'), 2);
  assert.deepEqual(where(), { c: 2, a: 3 });
});

test('column metadata moves with its column and developer metadata is capped at 30,000 characters per sheet', () => {
  const env = createEnv();
  const sheet = env.sheet();
  sheet.getRange('B:B').addDeveloperMetadata('col', 'name');
  sheet.insertColumnBefore(1);
  const col = () => sheet.createDeveloperMetadataFinder().withKey('col').find()[0].getLocation().getColumn().getColumn();
  assert.equal(col(), 3);
  sheet.moveColumns(sheet.getRange('C1'), 1);
  assert.equal(col(), 1);
  assert.throws(() => sheet.getRange('A1:B2').addDeveloperMetadata('x', 'y'), /arbitrary ranges is not currently supported/);
  const big = 'v'.repeat(9990);
  sheet.getRange('1:1').addDeveloperMetadata('k', big);
  sheet.getRange('2:2').addDeveloperMetadata('k', big);
  sheet.getRange('3:3').addDeveloperMetadata('k', big);
  assert.throws(() => sheet.getRange('4:4').addDeveloperMetadata('k', 'v'.repeat(25)), /30000 characters/);
});

test('strings are read as Sheets reads them unless the cell is plain text', () => {
  const env = createEnv({ timeZone: 'Europe/Berlin' });
  const sheet = env.sheet();
  sheet.getRange('A1:E1').setValues([['007', 'TRUE', '2026-03-29', "'42", '=1+1']]);
  const [v] = sheet.getRange('A1:E1').getValues();
  assert.equal(v[0], 7);
  assert.equal(v[1], true);
  assert.equal(formatDate(v[2], 'Europe/Berlin', 'yyyy-MM-dd HH:mm'), '2026-03-29 00:00');
  assert.equal(v[3], '42');
  assert.equal(sheet.getRange('E1').getFormula(), '=1+1');
  sheet.getRange('A2').setNumberFormat('@').setValue('007');
  assert.equal(sheet.getRange('A2').getValue(), '007');
  assert.ok(env.eval('isDate_')(v[2]), 'dates are Dates of the script realm');
  assert.equal(env.eval('(d) => d instanceof Date')(v[2]), true);
});

test('getRange outside the grid and setValues of the wrong shape throw like Apps Script', () => {
  const sheet = createEnv().sheet();
  assert.throws(() => sheet.getRange(1001, 1), /outside the dimensions/);
  assert.throws(() => sheet.getRange('A1:B2').setValues([[1, 2]]), /number of rows in the data/);
  assert.throws(() => sheet.deleteRows(1, 1000), /not possible to delete all non-frozen rows/);
});

test('properties enforce the 9 KB value quota; locks are released when an execution ends', () => {
  const env = createEnv();
  assert.throws(() => env.props.document.setProperty('k', 'x'.repeat(9 * 1024 + 1)), /Argument too large/);
  env.run('LockService.getScriptLock().waitLock(1000);');
  assert.deepEqual(env.leakedLocks.map((l) => l.leaked), [['script']]);
  const release = env.holdLock('document');
  assert.equal(env.run('return LockService.getDocumentLock().tryLock(0);'), false);
  release();
  assert.equal(env.run('const l = LockService.getDocumentLock(); const ok = l.tryLock(0); l.releaseLock(); return ok;'), true);
});

test('Utilities.formatDate follows SimpleDateFormat with time zones', () => {
  const d = new Date(Date.UTC(2026, 10, 25, 15, 1, 9, 123));
  assert.equal(formatDate(d, 'Europe/Berlin', "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"), '2026-11-25T16:01:09.123+01:00');
  assert.equal(formatDate(d, 'UTC', "yyyy-MM-dd'T'HH:mm:ssXXX"), '2026-11-25T15:01:09Z');
  assert.equal(formatDate(d, 'America/Los_Angeles', 'Z'), '-0800');
  assert.equal(formatDate(d, 'Asia/Kolkata', "HH:mm 'o''clock'"), "20:31 o'clock");
});

test('UrlFetchApp: muteHttpExceptions returns error statuses, otherwise they throw; a closed port always throws', async () => {
  const gw = await startFakeGateway([
    { status: 429, headers: { 'Retry-After': '7' }, body: { error: { code: 'rate_limited', message: 'slow down' } } },
    { status: 503, body: { error: { code: 'unavailable', message: 'down' } } },
  ]);
  try {
    const env = createEnv();
    const fetch = env.context.UrlFetchApp.fetch;
    const r = fetch(`${gw.url}/v1/edits`, { method: 'post', payload: '{}', contentType: 'application/json', muteHttpExceptions: true });
    assert.equal(r.getResponseCode(), 429);
    assert.equal(r.getHeaders()['Retry-After'], '7');
    assert.match(r.getContentText(), /slow down/);
    assert.throws(() => fetch(`${gw.url}/v1/edits`), /Request failed for .* returned code 503/);
    const closed = await closedPortUrl();
    assert.throws(() => fetch(`${closed}/healthz`, { muteHttpExceptions: true }), /Address unavailable/);
    assert.equal(gw.requests()[0].headers['content-type'], 'application/json');
  } finally {
    await gw.close();
  }
});
