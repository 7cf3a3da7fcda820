// Sheet -> queue: onEdit capture, row identity (UUID column + row tags), column identity.
// The gateway is a closed port: every change stays in the queue, where the tests read it.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { closedPortUrl, connectedOffline, markSynced, queued, reconcile, rowsOf, status } = require('../harness/fixtures');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
let url;
test.before(async () => { url = await closedPortUrl(); });

test('Connect prepares the sheet: key column first, UUIDs, column tags, protection, plain-text columns', () => {
  const env = connectedOffline({ url, rows: [['Ada', 'ada@example.com', '42']] });
  const sheet = env.sheet();
  assert.deepEqual(env.values()[0], ['uuid', 'name', 'email', 'score']);
  const tags = sheet.createDeveloperMetadataFinder().withKey('sheetsync.col').find()
    .map((m) => [m.getValue(), m.getLocation().getColumn().getColumn()]);
  assert.deepEqual(Object.fromEntries(tags), { uuid: 1, name: 2, email: 3, score: 4 });
  const [p] = sheet.getProtections('RANGE');
  assert.equal(p.getRange().getColumn(), 1);
  assert.equal(p.isWarningOnly(), true);
  assert.equal(sheet.getRange('B5').getNumberFormat(), '@');
  assert.equal(sheet.getFrozenRows(), 1);
  assert.deepEqual(env.triggers.map((t) => t.handler).sort(), ['onChangeInstalled', 'onEditInstalled', 'syncTick']);
  assert.ok(env.spreadsheet.getSheetByName('_sheetsync_queue').isSheetHidden());
});

test('a single-cell edit queues one change with event_id, updated_at and base from e.oldValue', () => {
  const env = connectedOffline({ url });
  env.user.edit('B2', 'Ad');
  const before = Date.now();
  env.user.edit('B2', 'Ada');
  const [, second] = queued(env);
  assert.match(second.event_id, UUID);
  assert.match(second.row_id, UUID);
  assert.deepEqual(second.cells, { name: 'Ada' });
  assert.deepEqual(second.base, { name: 'Ad' });
  assert.ok(Math.abs(Date.parse(second.updated_at) - before) < 5000);
  assert.match(second.updated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  assert.equal(rowsOf(env)[0].uuid, second.row_id);
});

test('edits keep their order even within one millisecond: updated_at strictly increases', () => {
  const env = connectedOffline({ url });
  const realNow = Date.now;
  env.eval('Date').now = () => 1795600000000;  // a frozen clock: every edit in the same millisecond
  try {
    for (let i = 0; i < 5; i++) env.user.edit('B2', `v${i}`);
  } finally {
    env.eval('Date').now = realNow;
  }
  const times = queued(env).map((c) => c.updated_at);
  assert.equal(times.length, 5);
  for (let i = 1; i < times.length; i++) assert.ok(times[i] > times[i - 1], times.join(' '));
});

test('a pasted block of new rows becomes one change per row, each with a fresh UUID and only its filled cells', () => {
  const env = connectedOffline({ url });
  env.user.edit('B2', [['Ada', 'ada@x', '1'], ['Bob', '', '2'], ['', '', '']]);
  const q = queued(env);
  assert.equal(q.length, 2);
  assert.deepEqual(q.map((c) => c.cells), [{ name: 'Ada', email: 'ada@x', score: 1 }, { name: 'Bob', score: 2 }]);
  assert.notEqual(q[0].row_id, q[1].row_id);
  assert.equal(q[0].base, undefined);
  const rows = rowsOf(env);
  assert.deepEqual(rows.map((r) => r.uuid), q.map((c) => c.row_id));
  assert.equal(rows.length, 2, 'the empty row gets no key');
});

test('text columns keep leading zeros; numbers and clears are typed; the queue survives a failed flush', () => {
  const env = connectedOffline({ url });
  env.user.edit('B2', [['007', '0042', '0042']]);
  env.user.clear('D2');
  const q = queued(env);
  assert.deepEqual(q[0].cells, { name: '007', email: '0042', score: 42 });
  assert.deepEqual(q[1].cells, { score: null });
  assert.deepEqual(q[1].base, { score: 42 });
  const st = status(env);
  assert.equal(st.queueLength, 2);
  assert.match(st.errors[0].message, /Cannot reach the gateway/);
  assert.ok(st.retryAt, 'a backoff is persisted');
});

test('an overwritten UUID cell is restored from e.oldValue; the edit is not sent', () => {
  const env = connectedOffline({ url, rows: [['Ada', '', '']] });
  const id = rowsOf(env)[0].uuid;
  env.user.edit('A2', 'oops');
  assert.equal(rowsOf(env)[0].uuid, id);
  assert.equal(env.protectionWarnings, 1, 'the key column warns before editing');
  assert.deepEqual(queued(env), []);
});

test('a UUID cleared by pasting over the key column comes back from the row tag; a copied row gets a new UUID', () => {
  const env = connectedOffline({ url, rows: [['Ada', '', ''], ['Bob', '', '']] });
  const [ada, bob] = rowsOf(env).map((r) => r.uuid);
  env.user.edit('A2', [['', 'Ada2']]);  // paste over key + name of row 2
  assert.equal(rowsOf(env)[0].uuid, ada);
  assert.deepEqual(queued(env).map((c) => [c.row_id, c.cells]), [[ada, { name: 'Ada2' }]]);
  env.user.edit('A3', [[ada, 'Copy of Ada']]);  // paste a copy of row 2 (with its UUID) over row 3
  const rows = rowsOf(env);
  assert.equal(rows[0].uuid, ada);
  assert.equal(rows[1].uuid, bob, 'row 3 keeps its own UUID (its row tag)');
  assert.deepEqual(queued(env)[1], { ...queued(env)[1], row_id: bob, cells: { name: 'Copy of Ada' } });
  env.user.insertRows(4, 1);
  env.user.edit('A4', [[bob, 'Another copy', 'x@y', '5']]);  // a new row pasted with an existing UUID
  const fresh = rowsOf(env)[2];
  assert.notEqual(fresh.uuid, bob);
  assert.match(fresh.uuid, UUID);
  assert.deepEqual(queued(env)[2].cells, { name: 'Another copy', email: 'x@y', score: 5 });
});

test('clearing a whole row (key and every synced cell) deletes it, with or without a row tag', () => {
  const env = connectedOffline({ url, rows: [['Ada', 'a@x', '1'], ['Bob', 'b@x', '2']] });
  markSynced(env);
  const [ada, bob] = rowsOf(env).map((r) => r.uuid);
  for (const md of env.sheet().createDeveloperMetadataFinder().withKey('sheetsync.row').find()) {
    if (md.getLocation().getRow().getRow() === 3) md.remove();  // Bob's row is beyond the tag budget
  }
  env.user.clear('A2:D2');
  env.user.clear('A3:D3');
  assert.deepEqual(queued(env), [], 'onEdit sends no all-empty edit');
  reconcile(env);
  assert.deepEqual(queued(env).map((c) => [c.row_id, !!c.deleted]), [[ada, true], [bob, true]]);
  const tags = env.sheet().createDeveloperMetadataFinder().withKey('sheetsync.row').find().map((m) => m.getValue());
  assert.ok(!tags.includes(ada), 'the cleared row\'s tag is gone: typing there later makes a new row');
  env.user.edit('B2', 'Dee');
  const dee = rowsOf(env)[0].uuid;
  assert.notEqual(dee, ada);
  assert.match(dee, UUID);
});

test('an edit whose trigger waits while a script deletes a row above is sent for the edited row', () => {
  const env = connectedOffline({ url, rows: [['Ada', 'a@x', '1'], ['Bob', 'b@x', '2'], ['Cy', 'c@x', '3']] });
  markSynced(env);
  const [, bob] = rowsOf(env).map((r) => r.uuid);
  const orig = env.context.withDocumentLock_;
  env.context.withDocumentLock_ = function (fn) {  // the trigger waits for the lock while a pull removes Ada
    env.context.withDocumentLock_ = orig;
    env.sheet().deleteRows(2, 1);
    return orig(fn);
  };
  env.user.edit('B3', 'Bob NEW');
  assert.deepEqual(queued(env).map((c) => [c.row_id, c.cells, c.base]), [[bob, { name: 'Bob NEW' }, { name: 'Bob' }]]);
});

test('inserted rows, sorting and moved columns never send a cell to the wrong row or column', () => {
  const env = connectedOffline({ url, rows: [['Cy', '', '3'], ['Ada', '', '1'], ['Bob', '', '2']] });
  const ids = Object.fromEntries(rowsOf(env).map((r) => [r.name, r.uuid]));
  env.user.insertRows(2, 2);
  env.user.sort(2);
  env.user.moveColumn(3, 2);  // email moves before name
  assert.deepEqual(env.values()[0], ['uuid', 'email', 'name', 'score']);
  env.user.edit('C2', 'Ada Lovelace');
  env.user.edit('B4', 'cy@x');
  const q = queued(env);
  assert.deepEqual(q.map((c) => [c.row_id, c.cells]), [[ids.Ada, { name: 'Ada Lovelace' }], [ids.Cy, { email: 'cy@x' }]]);
});

test('a renamed header is reported and keeps syncing under its tagged name', () => {
  const env = connectedOffline({ url, rows: [['Ada', '', '']] });
  env.user.edit('B1', 'Full name');
  env.user.edit('B2', 'Ada L');
  assert.deepEqual(queued(env).map((c) => c.cells), [{ name: 'Ada L' }]);
  env.call('syncTick');
  const st = status(env);
  assert.match(st.warnings.join('\n'), /Column B header "Full name" is not its synced name "name"/);
});

test('row tags stop at the developer-metadata budget; the key column still identifies every row', () => {
  const env = connectedOffline({ url });
  const rows = Array.from({ length: 700 }, (_, i) => [`n${i}`, '', String(i)]);
  env.sheet().getRange(2, 2, rows.length, 3).setValues(rows);  // a script import: no onEdit
  for (let i = 0; i < 8; i++) env.call('syncTick');  // ROW_METADATA_ADDS_PER_RUN tags per run
  const st = status(env);
  assert.equal(st.rowTags.rows, 700);
  assert.ok(st.rowTags.tagged >= 490 && st.rowTags.tagged < 700, `tagged ${st.rowTags.tagged}`);
  assert.equal(st.rowTags.full, true);
  assert.ok(env.sheet().metadataChars() <= 30000 - 5000 + 100);
  assert.equal(new Set(rowsOf(env).map((r) => r.uuid)).size, 700);
  assert.equal(queued(env).length, 700);
});
