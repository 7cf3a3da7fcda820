// Connect (re)connecting a spreadsheet: which changes of the settings start the sync afresh.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { startFakeGateway } = require('../harness/fake_gateway');
const { connectedOffline, markSynced, queued, syncedState } = require('../harness/fixtures');

const form = (url, sheetName) => ({ url, token: '', table: 'users', sheetName, keyColumn: 'uuid', kinds: 'name:text, email:text, score:number' });

test('connecting the same table to another tab starts afresh: no delete for the old tab\'s rows', async () => {
  const gw = await startFakeGateway();
  try {
    const env = connectedOffline({ url: gw.url, rows: [['Ada', 'a@x', '1'], ['Bob', 'b@x', '2']] });
    markSynced(env);
    env.call('connect', form(gw.url, 'Sheet1'));  // the same tab again: its state stays
    assert.equal(Object.keys(syncedState(env)).length, 2);
    env.user.edit('B2', 'Ada L');  // queued: Fresh must not inherit it either
    env.spreadsheet.insertSheet('Fresh');
    env.call('connect', form(gw.url, 'Fresh'));
    const posted = gw.requests().filter((r) => r.url === '/v1/edits').flatMap((r) => JSON.parse(r.body).changes);
    assert.deepEqual(posted.filter((c) => c.deleted), [], 'nothing deleted in MySQL');
    assert.deepEqual(syncedState(env), {});
    assert.deepEqual(queued(env), []);
  } finally {
    await gw.close();
  }
});

test('reconnecting a renamed tab keeps its synced state (the tab is known by its id)', async () => {
  const gw = await startFakeGateway();
  try {
    const env = connectedOffline({ url: gw.url, rows: [['Ada', 'a@x', '1']] });
    env.call('connect', form(gw.url, 'Sheet1'));
    markSynced(env);
    env.sheet().setName('People');
    env.call('connect', form(gw.url, 'People'));
    assert.equal(Object.keys(syncedState(env)).length, 1);
    assert.equal(env.props.document.getProperty('sheetsync.resync'), null, 'no resync started');
  } finally {
    await gw.close();
  }
});
