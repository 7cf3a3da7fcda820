// Store.gs: the queue's batches stay within the gateway's request limits.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { closedPortUrl, connectedOffline } = require('../harness/fixtures');

test('a batch is cut at MAX_REQUEST_BYTES of UTF-8, not of UTF-16 characters', async () => {
  const env = connectedOffline({ url: await closedPortUrl() });
  const out = env.run(`
    const ss = SpreadsheetApp.getActiveSpreadsheet();
    const changes = [];
    for (let i = 0; i < 400; i++) {
      changes.push(newChange_('9a0c0305-e82c-4330-8f89-11d33f2504e0', { name: '漢'.repeat(1800) + '😀' }, '2026-11-25T15:01:09.123000Z'));
    }
    withDocumentLock_(function () { enqueue_(ss, changes); });
    const b = peekQueue_(ss, MAX_CHANGES_PER_REQUEST, MAX_REQUEST_BYTES);
    return { n: b.count, body: JSON.stringify({ spreadsheet_id: ss.getId(), table: 'users', changes: b.changes }), max: MAX_REQUEST_BYTES };`);
  assert.ok(out.n > 1 && out.n < 400, `batch of ${out.n}`);
  assert.ok(Buffer.byteLength(out.body) <= out.max + 1024, `${Buffer.byteLength(out.body)} bytes`);
  assert.ok(Buffer.byteLength(out.body) > out.max * 0.9, 'the batch is not cut needlessly short');
  assert.equal(env.eval('utf8Bytes_')('aé漢😀'), 1 + 2 + 3 + 4);
});
