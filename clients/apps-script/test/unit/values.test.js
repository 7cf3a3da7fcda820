// Values.gs and Http.gs helpers: types in the spreadsheet's time zone, equality, Retry-After.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { createEnv } = require('../harness/gas');

const env = createEnv({ timeZone: 'Europe/Berlin' });
const fn = (name) => env.eval(name);
const typed = (text, fmt) => {
  const cell = env.sheet().getRange('Z1');
  cell.setNumberFormat(fmt || 'General').setValue(text);
  return { value: cell.getValue(), format: cell.getNumberFormat() };
};

test('dates and times are sent in the spreadsheet time zone, never shifted by a day', () => {
  const cellToJson = fn('cellToJson_');
  for (const tz of ['Europe/Berlin', 'America/Los_Angeles', 'Pacific/Kiritimati']) {
    env.spreadsheet.setSpreadsheetTimeZone(tz);
    const d = typed('2026-03-29');
    assert.equal(cellToJson(d.value, 'auto', d.format, tz), '2026-03-29', tz);
    assert.equal(cellToJson(d.value, 'date', 'General', tz), '2026-03-29', tz);
    const dt = typed('2026-11-25 16:01:09');
    assert.match(cellToJson(dt.value, 'auto', dt.format, tz), /^2026-11-25T16:01:09\.000([+-]\d\d:\d\d|Z)$/, tz);
    const t = typed('09:30:00');
    assert.equal(cellToJson(t.value, 'auto', t.format, tz), '09:30:00', tz);
  }
  env.spreadsheet.setSpreadsheetTimeZone('Europe/Berlin');
  const dt = typed('2026-11-25 16:01:09');
  assert.equal(cellToJson(dt.value, 'datetime', dt.format, 'Europe/Berlin'), '2026-11-25T16:01:09.000+01:00');
});

test('server values become cells: DATETIME text is UTC, DATE a local midnight, text stays text', () => {
  const jsonToCell = fn('jsonToCell_');
  const cellToJson = fn('cellToJson_');
  const tz = 'Europe/Berlin';
  const dt = jsonToCell('2026-11-25 15:01:09', 'datetime', tz);
  assert.equal(dt.value.toISOString(), '2026-11-25T15:01:09.000Z');
  assert.equal(cellToJson(dt.value, 'datetime', dt.format, tz), '2026-11-25T16:01:09.000+01:00');
  const d = jsonToCell('2026-03-29', 'date', tz);
  assert.equal(cellToJson(d.value, 'date', d.format, tz), '2026-03-29');
  const t = jsonToCell('23:59:58', 'time', tz);
  assert.equal(cellToJson(t.value, 'time', t.format, tz), '23:59:58');
  assert.deepEqual({ ...jsonToCell('007', 'text', tz) }, { value: '007', format: '@' });
  assert.deepEqual({ ...jsonToCell('007', 'auto', tz) }, { value: '007', format: '@' });
  assert.deepEqual({ ...jsonToCell('Ada', 'auto', tz) }, { value: 'Ada', format: null });
  assert.deepEqual({ ...jsonToCell(42, 'number', tz) }, { value: 42, format: null });
  assert.deepEqual({ ...jsonToCell(null, 'text', tz) }, { value: '', format: null });
  assert.deepEqual({ ...jsonToCell({ base64: 'AAE=' }, 'auto', tz) }, { value: '{"base64":"AAE="}', format: null });
});

test('cells become JSON: empty is null, text columns send strings, numbers and booleans stay typed', () => {
  const cellToJson = fn('cellToJson_');
  assert.equal(cellToJson('', 'text', 'General', 'UTC'), null);
  assert.equal(cellToJson(7, 'text', 'General', 'UTC'), '7');
  assert.equal(cellToJson('007', 'text', '@', 'UTC'), '007');
  assert.equal(cellToJson(true, 'text', 'General', 'UTC'), 'true');
  assert.equal(cellToJson(42, 'auto', 'General', 'UTC'), 42);
  assert.equal(cellToJson(false, 'boolean', 'General', 'UTC'), false);
  assert.equal(cellToJson(2.5, 'number', 'General', 'UTC'), 2.5);
});

test('sameJson_ treats null and "" as one empty value and a number as its own decimal text', () => {
  const same = fn('sameJson_');
  assert.ok(same(null, ''));
  assert.ok(same(undefined, null));
  assert.ok(same(42, '42'));
  assert.ok(!same(7, '007'));
  assert.ok(!same(true, 'true'));
  assert.ok(same({ a: 1 }, { a: 1 }));
  assert.ok(!same('a', 'b'));
});

test('Retry-After is read as seconds or as an HTTP date; backoff doubles up to its cap', () => {
  const parse = fn('parseRetryAfter_');
  const now = Date.parse('2026-11-25T15:00:00Z');
  assert.equal(parse('3', now), 3000);
  assert.equal(parse('Wed, 25 Nov 2026 15:00:10 GMT', now), 10000);
  assert.equal(parse('', now), null);
  assert.equal(parse('soon', now), null);
  const delay = fn('backoffDelay_');
  assert.ok(delay(1) >= 800 && delay(1) <= 1200);
  assert.ok(delay(4) >= 6400 && delay(4) <= 9600);
  assert.ok(delay(40) <= 15 * 60 * 1000 * 1.2);
});

test('sheetsWouldParse_ spots strings Sheets would turn into numbers, dates, booleans or formulas', () => {
  const would = fn('sheetsWouldParse_');
  for (const s of ['007', '1e5', '-3.5', 'TRUE', '2026-01-02', '2026-01-02 10:00:00', '10:00:00', '=A1', "'x", ' padded', '12/31']) {
    assert.ok(would(s), s);
  }
  for (const s of ['Ada', 'ada@example.com', 'a-b-c', 'hello world']) assert.ok(!would(s), s);
});

test('normalizeUuid_ accepts any case and rejects anything else', () => {
  const n = fn('normalizeUuid_');
  assert.equal(n(' 4F1C2D9E-3B7A-4C51-9E0F-1A2B3C4D5E6F '), '4f1c2d9e-3b7a-4c51-9e0f-1a2b3c4d5e6f');
  assert.equal(n('not-a-uuid'), '');
  assert.equal(n(42), '');
});
