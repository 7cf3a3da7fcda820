// Shared set-ups for the tests: a spreadsheet connected without a gateway, a closed port,
// and readers of the client's queue and synced state.
'use strict';

const net = require('node:net');
const { createEnv } = require('./gas');

const KINDS = { name: 'text', email: 'text', score: 'number' };

/** Returns a URL on 127.0.0.1 where nothing listens. */
function closedPortUrl() {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(`http://127.0.0.1:${port}`));
    });
  });
}

/**
 * Returns an env whose sheet is prepared as Connect would (header, key column, tags,
 * protection, formats, triggers) for a gateway at `url`, without calling it.
 * `rows`: data rows typed under the header [name, email, score] before connecting; they get
 * their UUIDs and row tags, and the queue starts empty (so a test sees only what it does).
 */
function connectedOffline({ url, rows = [], kinds = KINDS, spreadsheetId = 'sheet-offline', timeZone = 'Europe/Berlin', sleepScale = 0 } = {}) {
  const env = createEnv({ spreadsheetId, timeZone, sleepScale });
  const sheet = env.sheet();
  const header = ['name', 'email', 'score'];
  sheet.getRange(1, 1, 1, 3).setValues([header]);
  if (rows.length) sheet.getRange(2, 1, rows.length, 3).setValues(rows);
  env.run(`
    saveSettings_({ url: ${JSON.stringify(url)}, token: 'test-token', table: 'users', sheetName: 'Sheet1',
      keyColumn: 'uuid', kinds: ${JSON.stringify(kinds)}, columns: ${JSON.stringify(header)} });
    const ctx = newContext_(loadSettings_(), { manual: true });
    withDocumentLock_(function () { prepareSheet_(ctx, ${JSON.stringify(header)}); });
    installTriggers_();
    reconcile_(ctx);  // keys the rows and queues them, as the first sync after Connect does
    saveStatus_(ctx.status);
    withDocumentLock_(function () { dropQueueHead_(ctx.ss, queueLength_(ctx.ss)); });
  `);
  return env;
}

/** Returns the queued changes (oldest first). */
function queued(env) {
  return JSON.parse(env.run('return JSON.stringify(peekQueue_(SpreadsheetApp.getActiveSpreadsheet(), 100000, 1e12).changes);'));
}

/** Returns the synced state {uuid: {c, r?, g?}}. */
function syncedState(env) {
  return JSON.parse(env.run(`
    const ctx = newContext_(loadSettings_(), { manual: true });
    return JSON.stringify(ensureState_(ctx));`));
}

/** Returns the status model of the sidebar. */
function status(env) {
  return JSON.parse(JSON.stringify(env.call('getStatus')));
}

/** Returns the data rows as objects keyed by header, with the UUID under `uuid`. */
function rowsOf(env, sheetName) {
  const [header, ...rows] = env.values(sheetName);
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

/** Runs `body` with `ctx` (a run context) and the given JSON values bound, saving state/status. */
function withCtx(env, vars, body) {
  const decl = Object.entries(vars).map(([k, v]) => `const ${k} = ${JSON.stringify(v)};`).join('\n');
  return env.run(`${decl}
    const ctx = newContext_(loadSettings_(), { manual: true });
    const out = (function () { ${body} })();
    saveState_(ctx);
    saveStatus_(ctx.status);
    return out === undefined ? undefined : JSON.parse(JSON.stringify(out));`);
}

/** Marks the sheet's current rows as synced (as if the server had sent exactly them). */
function markSynced(env) {
  const entries = rowsOf(env).map((r) => ({ row_id: r.uuid, deleted: false, cells: { name: r.name || null, email: r.email || null, score: r.score === '' ? null : r.score } }));
  withCtx(env, { entries }, 'applyEntries_(ctx, entries, 0);');
}

/** Applies `results(changes)` to the queued changes, as a flush does, and empties the queue.
 *  Returns the changes. */
function ackQueue(env, results) {
  const changes = queued(env);
  withCtx(env, { changes, results: results(changes) }, `
    applyResults_(ctx, changes, results, changes.length);
    withDocumentLock_(function () { dropQueueHead_(ctx.ss, changes.length); });`);
  return changes;
}

/** Returns results acknowledging every change as applied. */
const allApplied = (changes) => changes.map((c) => ({ event_id: c.event_id, row_id: c.row_id, status: 'applied', applied: Object.keys(c.cells || {}) }));

/** Runs a reconcile pass; returns the number of changes it queued. */
const reconcile = (env) => withCtx(env, {}, 'return reconcile_(ctx);');

module.exports = {
  KINDS, closedPortUrl, connectedOffline, queued, syncedState, status, rowsOf,
  withCtx, markSynced, ackQueue, allApplied, reconcile,
};
