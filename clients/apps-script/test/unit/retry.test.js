// Error paths the real gateway cannot easily be made to produce, against a tiny local server:
// 429 with Retry-After, a 503 that outlasts the run, and a gateway that is not there at all.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { startFakeGateway } = require('../harness/fake_gateway');
const { closedPortUrl, connectedOffline, queued, status } = require('../harness/fixtures');

const setUrl = (env, url) => env.props.document.setProperty('sheetsync.url', url);

test('429 with Retry-After: the flush waits that long and resends the same body', async () => {
  const gw = await startFakeGateway([{ status: 429, headers: { 'Retry-After': '1' }, body: { error: { code: 'rate_limited', message: 'too many requests' } } }]);
  try {
    const env = connectedOffline({ url: gw.url, sleepScale: 1 });
    const started = Date.now();
    env.user.edit('B2', 'Ada');
    const edits = gw.requests().filter((r) => r.url === '/v1/edits');
    assert.equal(edits.length, 2);
    assert.equal(edits[0].body, edits[1].body, 'a retry resends the same events');
    assert.equal(edits[0].headers.authorization, 'Bearer test-token');
    assert.ok(env.sleeps[0] >= 1000, `slept ${env.sleeps[0]} ms`);
    assert.ok(Date.now() - started >= 1000);
    assert.equal(queued(env).length, 0);
    assert.equal(status(env).retryAt, '', 'the backoff is cleared once a request gets through');
  } finally {
    await gw.close();
  }
});

test('503 longer than a run allows: the queue is kept, the backoff persisted, the next run sends it', async () => {
  const gw = await startFakeGateway([{ status: 503, headers: { 'Retry-After': '120', 'X-Trace-Id': '5f0c2a9e41d7b368' }, body: { error: { code: 'unavailable', message: 'MySQL is down' } } }]);
  try {
    const env = connectedOffline({ url: gw.url });
    env.user.edit('B2', 'Ada');
    assert.equal(gw.requests().length, 1, 'a 2-minute Retry-After is not slept through');
    assert.equal(queued(env).length, 1);
    const st = status(env);
    assert.ok(Date.parse(st.retryAt) - Date.now() > 100000, st.retryAt);
    assert.match(st.errors[0].message, /MySQL is down \[trace 5f0c2a9e41d7b368\] \(will retry\)/);
    env.user.edit('C2', 'ada@x');
    env.tick();
    assert.equal(gw.requests().length, 1, 'triggers honour the persisted backoff');
    const run = env.call('syncNow');  // a person asked: try now
    assert.match(run.message, /no GET \/v1\/changes route/);
    assert.equal(queued(env).length, 0);
    const sent = JSON.parse(gw.requests()[1].body).changes;
    assert.deepEqual(sent.map((c) => c.cells), [{ name: 'Ada' }, { email: 'ada@x' }]);
  } finally {
    await gw.close();
  }
});

test('gateway down during a burst of edits: nothing is lost or reordered once it is back', async () => {
  const down = await closedPortUrl();
  const env = connectedOffline({ url: down });
  for (let i = 0; i < 30; i++) env.user.edit(`B${2 + (i % 5)}`, `v${i}`);
  assert.equal(queued(env).length, 30);
  assert.match(status(env).errors[0].message, /Cannot reach the gateway/);
  const gw = await startFakeGateway();
  try {
    setUrl(env, gw.url);
    env.call('syncNow');
    assert.equal(queued(env).length, 0);
    const sent = gw.requests().filter((r) => r.url === '/v1/edits').flatMap((r) => JSON.parse(r.body).changes);
    assert.equal(sent.length, 30);
    assert.deepEqual(sent.map((c) => c.cells.name), Array.from({ length: 30 }, (_, i) => `v${i}`));
    assert.equal(new Set(sent.map((c) => c.event_id)).size, 30);
  } finally {
    await gw.close();
  }
});

test('410 cursor_expired: resync from GET /v1/rows, drop rows the snapshot lacks, resume the feed at the first page cursor', async () => {
  const env = connectedOffline({ url: 'http://127.0.0.1:9', rows: [['Ada', '', '1'], ['Gone', '', '2']] });
  const [ada, gone] = env.values().slice(1).map((r) => r[0]);
  const synced = JSON.stringify([ada, gone].map((id, i) => ({ row_id: id, deleted: false, cells: { name: ['Ada', 'Gone'][i], email: null, score: i + 1 } })));
  env.run(`const ctx = newContext_(loadSettings_(), { manual: true }); applyEntries_(ctx, ${synced}, 0);`);
  env.props.document.setProperty('sheetsync.cursor', 'c-old');
  const fresh = '9a0c0305-e82c-4330-8f89-11d33f2504e0';
  const gw = await startFakeGateway([
    { path: '/v1/changes', status: 410, body: { error: { code: 'cursor_expired', message: 'the cursor is older than the retention' } } },
    { path: '/v1/rows', status: 200, body: { rows: [{ row_id: ada, cells: { name: 'Ada', email: 'ada@snap', score: 1 } }], next_after: ada, has_more: true, cursor: 'c-first' } },
    { path: '/v1/rows', status: 200, body: { rows: [{ row_id: fresh, cells: { name: 'Fresh', email: null, score: 3 } }], next_after: '', has_more: false, cursor: 'c-later' } },
    { path: '/v1/changes', status: 200, body: { changes: [{ row_id: ada, updated_at: '2026-11-25T16:00:00.000000Z', deleted: false, cells: { name: 'Ada', email: 'ada@feed', score: 1 }, source: 'MYSQL', origin: '' }], next_cursor: 'c-next', has_more: false } },
  ]);
  try {
    env.props.document.setProperty('sheetsync.url', gw.url);
    const run = env.call('syncNow');
    assert.equal(run.ok, true, run.message);
    const gets = gw.requests().filter((r) => r.method === 'GET').map((r) => r.url);
    assert.deepEqual(gets, [
      `/v1/changes?table=users&since=c-old&limit=500&exclude_origin=sheet-offline`,
      '/v1/rows?table=users&limit=500',
      `/v1/rows?table=users&after=${ada}&limit=500`,
      '/v1/changes?table=users&since=c-first&limit=500&exclude_origin=sheet-offline',
    ]);
    const rows = env.values().slice(1).map((r) => [r[0], r[1], r[2]]);
    assert.deepEqual(rows, [[ada, 'Ada', 'ada@feed'], [fresh, 'Fresh', '']]);
    assert.equal(env.props.document.getProperty('sheetsync.cursor'), 'c-next');
    assert.equal(env.props.document.getProperty('sheetsync.resync'), null);
    assert.match(status(env).errors[0].message, /cursor cannot be used \(the cursor is older than the retention\); resyncing/);
    assert.equal(queued(env).length, 0, 'nothing of the resync is sent back');
  } finally {
    await gw.close();
  }
});
