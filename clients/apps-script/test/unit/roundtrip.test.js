// Values pulled from MySQL that a cell cannot show exactly as the server sent them (DATETIME text
// shown as a date, microseconds, binary {"base64"} and JSON objects shown as text) are never sent
// back as edits, and MySQL keeps the exact value.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const {
  closedPortUrl, connectedOffline, queued, rowsOf, syncedState, withCtx, markSynced, ackQueue, allApplied, reconcile,
} = require('../harness/fixtures');

let url;
test.before(async () => { url = await closedPortUrl(); });

const pull = (env, id, score) => withCtx(env, { page: [{ row_id: id, deleted: false, cells: { name: 'Ada', email: 'a@x', score } }] },
  'applyEntries_(ctx, page, 0);');

const CASES = [
  ['datetime', '2026-11-25 15:01:09'],
  ['datetime', '2026-11-25 15:01:09.123456'],
  ['time', '09:30:00.123456'],
  ['date', '2026-11-25'],
  ['auto', '2026-11-25 15:01:09.123456'],
  ['auto', { base64: '/w==' }],
  ['auto', { a: 1 }],
];

for (const [kind, value] of CASES) {
  test(`a pulled ${kind} ${JSON.stringify(value)} is not sent back, and an edit of the row leaves it alone`, () => {
    const env = connectedOffline({ url, rows: [['Ada', 'a@x', '']], kinds: { name: 'text', email: 'text', score: kind } });
    markSynced(env);
    const id = rowsOf(env)[0].uuid;
    pull(env, id, value);
    assert.equal(reconcile(env), 0, 'nothing to send');
    pull(env, id, value);  // the same value again (e.g. another column changed in MySQL)
    assert.equal(reconcile(env), 0, 'still nothing to send');
    assert.deepEqual(syncedState(env)[id].c.score, value, 'the synced state keeps the exact server value');
    env.sheet().getRange('B2').setValue('Ada L');  // an edit onEdit did not see: reconcile finds it
    assert.equal(reconcile(env), 1);
    assert.deepEqual(queued(env).map((c) => c.cells), [{ name: 'Ada L' }]);
  });
}

test('an edited pulled cell is sent with the exact server value as its base', () => {
  const env = connectedOffline({ url, rows: [['Ada', 'a@x', '']], kinds: { name: 'text', email: 'text', score: 'datetime' } });
  markSynced(env);
  const id = rowsOf(env)[0].uuid;
  pull(env, id, '2026-11-25 15:01:09.123456');
  env.sheet().getRange('D2').setValue('2026-11-26 10:00:00');
  assert.equal(reconcile(env), 1);
  const [c] = queued(env);
  assert.deepEqual(c.cells, { score: '2026-11-26T10:00:00.000+01:00' });
  assert.deepEqual(c.base, { score: '2026-11-25 15:01:09.123456' });
});

test('a date-time typed into an auto column stays a date when MySQL sends it back as UTC text', () => {
  const env = connectedOffline({ url, rows: [['Ada', 'a@x', '']], kinds: { name: 'text', email: 'text', score: 'auto' } });
  markSynced(env);
  const id = rowsOf(env)[0].uuid;
  env.user.edit('D2', '2026-11-25 16:01:00');
  const [sent] = ackQueue(env, allApplied);
  assert.deepEqual(sent.cells, { score: '2026-11-25T16:01:00.000+01:00' });
  withCtx(env, { page: [{ row_id: id, deleted: false, cells: { name: 'Ada', email: 'a@mysql', score: '2026-11-25 15:01:00' } }] },
    'applyEntries_(ctx, page, 0);');
  const cell = env.sheet().getRange('D2');
  assert.equal(cell.getNumberFormat(), 'yyyy-mm-dd hh:mm:ss');
  assert.equal(cell.getDisplayValue(), '2026-11-25 16:01:00');
  assert.equal(env.sheet().getRange('C2').getValue(), 'a@mysql');
  assert.equal(reconcile(env), 0);
});

test('a winning value that the cell shows differently is not sent back either', () => {
  const env = connectedOffline({ url, rows: [['Ada', 'a@x', '']], kinds: { name: 'text', email: 'text', score: 'datetime' } });
  markSynced(env);
  env.user.edit('D2', '2026-11-25 16:01:00');
  ackQueue(env, (cs) => cs.map((c) => ({
    event_id: c.event_id, row_id: c.row_id, status: 'stale', stale: ['score'], current: { score: '2026-11-25 17:00:00.5' },
  })));
  assert.equal(env.sheet().getRange('D2').getDisplayValue(), '2026-11-25 18:00:00');
  assert.equal(reconcile(env), 0);
});
