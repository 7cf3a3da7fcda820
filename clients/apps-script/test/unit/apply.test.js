// Results and feed pages applied to the sheet, and reconcile — driven through the client's
// own functions with results/pages shaped as the contract says (no HTTP).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const {
  closedPortUrl, connectedOffline, queued, rowsOf, status, syncedState, withCtx, markSynced, ackQueue, allApplied, reconcile,
} = require('../harness/fixtures');

let url;
test.before(async () => { url = await closedPortUrl(); });

test('a losing edit gets the winning value at once and a note naming who won, and when', () => {
  const env = connectedOffline({ url, rows: [['Ada', 'ada@x', '1']] });
  markSynced(env);
  env.user.edit('C2', 'ada@old');
  ackQueue(env, (cs) => cs.map((c) => ({
    event_id: c.event_id, row_id: c.row_id, status: 'stale', stale: ['email'],
    current: { email: 'ada@new' }, current_versions: { email: { source: 'MYSQL', origin: '', updated_at: '2026-11-25T15:02:00.000001Z' } },
  })));
  const cell = env.sheet().getRange('C2');
  assert.equal(cell.getValue(), 'ada@new');
  assert.match(cell.getNote(), /^sheetsync: your value ada@old .* was overwritten by ada@new, a newer value from MySQL at 2026-11-25T15:02:00\.000001Z/);
  assert.equal(status(env).conflicts, 1);
  assert.equal(reconcile(env), 0, 'the winning value is not sent back');
});

test('partial: winning cells are acknowledged, the losing one shows the other sheet that won', () => {
  const env = connectedOffline({ url, rows: [['Ada', 'ada@x', '1']] });
  markSynced(env);
  env.user.edit('B2', [['Ada L', 'ada@l']]);
  ackQueue(env, (cs) => cs.map((c) => ({
    event_id: c.event_id, row_id: c.row_id, status: 'partial', applied: ['name'], stale: ['email'],
    current: { email: 'ada@other' }, current_versions: { email: { source: 'SHEET', origin: 'sheet-b', updated_at: '2026-11-25T15:03:00Z' } },
  })));
  assert.deepEqual(env.values()[1].slice(1, 3), ['Ada L', 'ada@other']);
  assert.match(env.sheet().getRange('C2').getNote(), /from another sheet \(sheet-b\) at 2026-11-25T15:03:00Z/);
  assert.equal(env.sheet().getRange('B2').getNote(), '');
  assert.equal(reconcile(env), 0);
});

test('a cell changed again after the losing edit keeps the newer local value', () => {
  const env = connectedOffline({ url, rows: [['Ada', '', '']] });
  markSynced(env);
  env.user.edit('B2', 'first');
  env.user.edit('B2', 'second');
  const [first] = queued(env);
  withCtx(env, { changes: [first], results: [{ event_id: first.event_id, row_id: first.row_id, status: 'stale', stale: ['name'], current: { name: 'server' } }] }, `
    applyResults_(ctx, changes, results, 1);
    withDocumentLock_(function () { dropQueueHead_(ctx.ss, 1); });`);
  assert.equal(env.sheet().getRange('B2').getValue(), 'second');
  assert.deepEqual(queued(env).map((c) => c.cells), [{ name: 'second' }]);
});

test('an edit that lost to a delete removes the row; a delete that lost brings the row back with a note', () => {
  const env = connectedOffline({ url, rows: [['Ada', '', ''], ['Bob', '', '2']] });
  markSynced(env);
  const [ada, bob] = rowsOf(env).map((r) => r.uuid);
  env.user.edit('B2', 'Ada?');
  ackQueue(env, (cs) => cs.map((c) => ({ event_id: c.event_id, row_id: c.row_id, status: 'stale', stale: ['name'], current: null, deleted: true })));
  assert.deepEqual(rowsOf(env).map((r) => r.uuid), [bob]);
  env.user.deleteRows(2, 1);  // Bob: onChange → reconcile queues the delete
  const [del] = queued(env);
  assert.equal(del.deleted, true);
  assert.equal(del.row_id, bob);
  ackQueue(env, (cs) => cs.map((c) => ({
    event_id: c.event_id, row_id: c.row_id, status: 'stale', current: { name: 'Bob', email: 'bob@new', score: 3 },
    current_versions: { email: { source: 'MYSQL', origin: '', updated_at: '2026-11-25T16:00:00Z' } },
  })));
  const rows = rowsOf(env);
  assert.deepEqual(rows.map((r) => [r.uuid, r.name, r.email, r.score]), [[bob, 'Bob', 'bob@new', 3]]);
  assert.match(env.sheet().getRange('A2').getNote(), /deleted here but changed from MySQL at 2026-11-25T16:00:00Z/);
  assert.equal(reconcile(env), 0);
  assert.ok(!syncedState(env)[ada]);
});

test('a rejected value is noted on the cell, listed in Status and not re-sent while the cell holds it', () => {
  const env = connectedOffline({ url, rows: [['Ada', '', '1']] });
  markSynced(env);
  env.user.edit('D2', 'lots');
  ackQueue(env, (cs) => cs.map((c) => ({ event_id: c.event_id, row_id: c.row_id, status: 'rejected', code: 'type_mismatch', error: 'score: "lots" is not an integer' })));
  assert.match(env.sheet().getRange('D2').getNote(), /rejected lots: score: "lots" is not an integer/);
  const st = status(env);
  assert.equal(st.rejected.length, 1);
  assert.equal(st.rejected[0].code, 'type_mismatch');
  assert.match(st.rejected[0].cells, /score=lots/);
  assert.equal(reconcile(env), 0);
  env.user.edit('D2', '5');
  assert.deepEqual(queued(env).map((c) => c.cells), [{ score: 5 }]);
  assert.match(env.call('getStatusHtml'), /type_mismatch/);
});

test('once a later change of the row is accepted, the other cells of a rejected change are sent again', () => {
  const env = connectedOffline({ url });
  env.user.edit('B2', [['Ada', 'ada@x', 'abc']]);  // a new row; score is not a number
  ackQueue(env, (cs) => cs.map((c) => ({ event_id: c.event_id, row_id: c.row_id, status: 'rejected', code: 'type_mismatch', error: 'score: "abc" is not an integer' })));
  assert.equal(reconcile(env), 0, 'nothing is re-sent while the cells hold the rejected values');
  env.user.edit('D2', '5');  // the person fixes the bad cell
  ackQueue(env, allApplied);
  assert.equal(reconcile(env), 1);
  assert.deepEqual(queued(env).map((c) => [c.cells, c.base]), [[{ name: 'Ada', email: 'ada@x' }, { name: null, email: null }]]);
});

test('a feed page is applied in batched writes: updates, appends, deletes; nothing is sent back', () => {
  const env = connectedOffline({ url, rows: [['Ada', 'ada@x', '1'], ['Bob', 'bob@x', '2'], ['Cy', '', '3']] });
  markSynced(env);
  const [ada, bob, cy] = rowsOf(env).map((r) => r.uuid);
  const fresh = '0b5e4f57-9a53-4f57-9a53-2f5c3d1e9a10';
  env.sheet().getRange('E2').setFormula('=D2*2');  // an unsynced helper column with a formula
  const writes = env.sheet().stats.setValues;
  withCtx(env, {
    entries: [
      { row_id: ada, deleted: false, cells: { name: 'Ada', email: 'ada@new', score: 10 }, source: 'MYSQL', origin: '' },
      { row_id: bob, deleted: true, source: 'MYSQL', origin: '' },
      { row_id: fresh.toUpperCase(), deleted: false, cells: { name: '007', email: null, score: 4 }, source: 'SHEET', origin: 'sheet-b' },
      { row_id: cy, deleted: false, cells: { name: 'Cy', email: null, score: 3 }, source: 'MYSQL', origin: '' },
    ],
  }, 'applyEntries_(ctx, entries, 0);');
  assert.equal(env.sheet().stats.setValues - writes, 2, 'one setValues for Ada\'s changed cells, one for the new row');
  const rows = rowsOf(env).map((r) => [r.uuid, r.name, r.email, r.score]);
  assert.deepEqual(rows, [[ada, 'Ada', 'ada@new', 10], [cy, 'Cy', '', 3], [fresh, '007', '', 4]]);
  assert.equal(env.sheet().getRange('E2').getFormula(), '=D2*2');
  assert.equal(env.sheet().getRange('B4').getNumberFormat(), '@');
  assert.equal(queued(env).length, 0);
  assert.equal(reconcile(env), 0, 'pulled values are never re-sent as edits');
  const tags = env.sheet().createDeveloperMetadataFinder().withKey('sheetsync.row').find().map((m) => m.getValue());
  assert.ok(tags.includes(fresh), 'the appended row is tagged');
  assert.ok(!tags.includes(bob), 'the deleted row took its tag with it');
});

/** Runs `during(sheet)` inside the next applyEntries_, after it read the sheet and before it writes. */
function duringPull(env, during) {
  const orig = env.context.pendingIndex_;
  env.context.pendingIndex_ = function (ss, skip) {
    env.context.pendingIndex_ = orig;
    during(env.sheet());
    return orig(ss, skip);
  };
}

test('a pull writes only the cells it changes: what a person types meanwhile stays', () => {
  const env = connectedOffline({ url, rows: [['Ada', 'a@x', '1'], ['Bob', 'b@x', '2'], ['Carol', 'c@x', '3']] });
  markSynced(env);
  const [ada] = rowsOf(env).map((r) => r.uuid);
  duringPull(env, (sheet) => { sheet.getRange('B3').setValue('Bob NEW'); sheet.getRange('F4').setValue('my note'); });
  withCtx(env, { page: [
    { row_id: ada, deleted: false, cells: { name: 'Ada', email: 'a@mysql', score: 1 } },
    { row_id: '9a0c0305-e82c-4330-8f89-11d33f2504e0', deleted: false, cells: { name: 'Eve', email: 'e@x', score: 5 } },
  ] }, 'applyEntries_(ctx, page, 0);');
  assert.equal(env.sheet().getRange('B3').getValue(), 'Bob NEW');
  assert.equal(env.sheet().getRange('F4').getValue(), 'my note');
  assert.deepEqual(rowsOf(env).map((r) => [r.name, r.email]), [['Ada', 'a@mysql'], ['Bob NEW', 'b@x'], ['Carol', 'c@x'], ['Eve', 'e@x']]);
  assert.equal(reconcile(env), 1, 'the edit typed during the pull is still sent');
  assert.deepEqual(queued(env).map((c) => c.cells), [{ name: 'Bob NEW' }]);
});

test('a pull writes the same columns of consecutive rows in one call', () => {
  const env = connectedOffline({ url, rows: [['Ada', 'a@x', '1'], ['Bob', 'b@x', '2'], ['Cy', 'c@x', '3']] });
  markSynced(env);
  const page = rowsOf(env).map((r) => ({ row_id: r.uuid, deleted: false, cells: { name: r.name, email: r.name + '@mysql', score: r.score + 10 } }));
  const writes = env.sheet().stats.setValues;
  withCtx(env, { page }, 'applyEntries_(ctx, page, 0);');
  assert.equal(env.sheet().stats.setValues - writes, 1);
  assert.deepEqual(rowsOf(env).map((r) => [r.name, r.email, r.score]), [['Ada', 'Ada@mysql', 11], ['Bob', 'Bob@mysql', 12], ['Cy', 'Cy@mysql', 13]]);
});

test('rows a person adds at the bottom during a pull stay; pulled new rows go below them', () => {
  const env = connectedOffline({ url, rows: [['Ada', 'a@x', '1'], ['Bob', 'b@x', '2']] });
  markSynced(env);
  const [ada] = rowsOf(env).map((r) => r.uuid);
  duringPull(env, (sheet) => sheet.getRange('B4').setValue('New person'));
  withCtx(env, { page: [
    { row_id: ada, deleted: false, cells: { name: 'Ada', email: 'a@mysql', score: 1 } },
    { row_id: '9a0c0305-e82c-4330-8f89-11d33f2504e0', deleted: false, cells: { name: 'Eve', email: 'e@x', score: 5 } },
  ] }, 'applyEntries_(ctx, page, 0);');
  assert.deepEqual(rowsOf(env).map((r) => [r.name, r.email]), [['Ada', 'a@mysql'], ['Bob', 'b@x'], ['New person', ''], ['Eve', 'e@x']]);
});

test('pulled values skip cells with local edits not yet acknowledged and rows deleted here', () => {
  const env = connectedOffline({ url, rows: [['Ada', 'ada@x', '1'], ['Bob', 'bob@x', '2']] });
  markSynced(env);
  const [ada, bob] = rowsOf(env).map((r) => r.uuid);
  env.user.edit('B2', 'Ada (mine)');
  env.user.deleteRows(3, 1);
  withCtx(env, {
    entries: [
      { row_id: ada, deleted: false, cells: { name: 'Ada (theirs)', email: 'ada@theirs', score: 1 } },
      { row_id: bob, deleted: false, cells: { name: 'Bob', email: 'bob@theirs', score: 2 } },
    ],
  }, 'applyEntries_(ctx, entries, 0);');
  assert.deepEqual(rowsOf(env).map((r) => [r.uuid, r.name, r.email]), [[ada, 'Ada (mine)', 'ada@theirs']]);
  assert.deepEqual(queued(env).map((c) => (c.deleted ? ['delete', c.row_id] : [c.row_id, c.cells])),
    [[ada, { name: 'Ada (mine)' }], ['delete', bob]]);
});

test('a deleted row with queued local edits is emptied, not removed (those edits decide)', () => {
  const env = connectedOffline({ url, rows: [['Ada', 'ada@x', '1']] });
  markSynced(env);
  const [ada] = rowsOf(env).map((r) => r.uuid);
  env.user.edit('B2', 'Ada again');
  withCtx(env, { entries: [{ row_id: ada, deleted: true }] }, 'applyEntries_(ctx, entries, 0);');
  assert.deepEqual(rowsOf(env).map((r) => [r.uuid, r.name, r.email, r.score]), [[ada, 'Ada again', '', '']]);
});

test('reconcile sends deletes for vanished rows and edits made without onEdit', () => {
  const env = connectedOffline({ url, rows: [['Ada', 'ada@x', '1'], ['Bob', 'bob@x', '2'], ['Cy', '', '3']] });
  markSynced(env);
  const [ada, bob, cy] = rowsOf(env).map((r) => r.uuid);
  env.sheet().deleteRows(3, 1);  // e.g. through the Sheets API: no trigger fires
  env.sheet().getRange('D2').setValue(11);  // an import: no onEdit
  env.sheet().getRange('B5:D5').setValues([['Dee', 'dee@x', 4]]);
  assert.equal(reconcile(env), 3);
  const q = queued(env);
  const dee = rowsOf(env)[3].uuid;
  assert.deepEqual(q.map((c) => (c.deleted ? ['delete', c.row_id] : [c.row_id, c.cells, c.base])), [
    [ada, { score: 11 }, { score: 1 }],
    [dee, { name: 'Dee', email: 'dee@x', score: 4 }, undefined],
    ['delete', bob],
  ]);
  assert.equal(reconcile(env), 0, 'queued changes are not queued twice');
  assert.ok(cy);
});

test('finishing a resync removes synced rows the snapshot did not list', () => {
  const env = connectedOffline({ url, rows: [['Ada', '', '1'], ['Bob', '', '2']] });
  markSynced(env);
  const [ada] = rowsOf(env).map((r) => r.uuid);
  withCtx(env, { page: [{ row_id: ada, deleted: false, cells: { name: 'Ada', email: null, score: 1 } }] }, `
    startResync_(false);
    ctx.resyncGen = 7;
    applyEntries_(ctx, page, 7);
    finishResync_(ctx, 7);`);
  assert.deepEqual(rowsOf(env).map((r) => r.uuid), [ada]);
});

test('a row deleted here while a resync runs is still deleted in MySQL', () => {
  const env = connectedOffline({ url, rows: [['Ada', 'a@x', '1'], ['Bob', 'b@x', '2']] });
  markSynced(env);
  const [ada, bob] = rowsOf(env).map((r) => r.uuid);
  env.sheet().deleteRows(3, 1);  // Bob; onChange found the script lock taken by the resync
  const snapshot = [
    { row_id: ada, deleted: false, cells: { name: 'Ada', email: 'a@x', score: 1 } },
    { row_id: bob, deleted: false, cells: { name: 'Bob', email: 'b@x', score: 2 } },
  ];
  withCtx(env, { snapshot }, `
    startResync_(false);
    ctx.resyncGen = 9;
    applyEntries_(ctx, snapshot, 9);
    finishResync_(ctx, 9);`);
  assert.ok(syncedState(env)[bob], 'the snapshot listed Bob: his state stays until his delete is acknowledged');
  assert.equal(reconcile(env), 1);
  assert.deepEqual(queued(env).map((c) => [c.row_id, !!c.deleted]), [[bob, true]]);
});

test('the Status sidebar escapes what it shows', () => {
  const env = connectedOffline({ url });
  const html = env.run(`return renderStatusHtml_({ connected: true, sheetName: '<b>x', table: 't', url: 'u', queueLength: 3,
    rejected: [{ row_id: 'r', cells: '<script>', code: 'c', error: 'e&', at: 'now' }], errors: [], warnings: [], conflicts: 0 });`);
  assert.match(html, /&lt;b&gt;x/);
  assert.match(html, /&lt;script&gt;/);
  assert.match(html, /e&amp;/);
  assert.match(html, /<b id="queue">3<\/b>/);
  env.call('showStatus');
  assert.equal(env.ui.sidebars[0].getTitle(), 'sheetsync status');
});
