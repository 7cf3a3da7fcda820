/**
 * Main: the entry points Apps Script calls.
 *
 *  onOpen (simple trigger)          the "sheetsync" menu: Connect…, Sync now, Status, Disconnect
 *  showConnectDialog, connect(form) the Connect dialog and its server side (Connect.gs)
 *  syncNow / syncTick               a full run: reconcile, flush, pull (manual / every minute)
 *  onEditInstalled(e)               queue the edit, then flush if no other run is busy
 *  onChangeInstalled(e)             a row was removed: reconcile and flush at once
 *  showStatus / getStatusHtml       the Status sidebar (Ui.gs)
 * Runs that touch the gateway or the synced state hold the script lock, one at a time;
 * a run that finds it taken leaves its work to the run holding it (or the next minute).
 */

const TRIGGER_HANDLERS = ['onEditInstalled', 'onChangeInstalled', 'syncTick'];

/** Adds the sheetsync menu. */
function onOpen() {
  SpreadsheetApp.getUi().createMenu('sheetsync')
      .addItem('Connect…', 'showConnectDialog')
      .addItem('Sync now', 'syncNow')
      .addItem('Status', 'showStatus')
      .addSeparator()
      .addItem('Disconnect', 'disconnect')
      .addToUi();
}

/** Replaces this project's sheetsync triggers with fresh ones. */
function installTriggers_() {
  const ss = SpreadsheetApp.getActiveSpreadsheet();
  removeTriggers_();
  ScriptApp.newTrigger('onEditInstalled').forSpreadsheet(ss).onEdit().create();
  ScriptApp.newTrigger('onChangeInstalled').forSpreadsheet(ss).onChange().create();
  ScriptApp.newTrigger('syncTick').timeBased().everyMinutes(SYNC_TRIGGER_MINUTES).create();
}

/** Deletes this project's sheetsync triggers. */
function removeTriggers_() {
  for (const t of ScriptApp.getProjectTriggers()) {
    if (TRIGGER_HANDLERS.indexOf(t.getHandlerFunction()) >= 0) ScriptApp.deleteTrigger(t);
  }
}

/** Menu "Disconnect": stops syncing (triggers and gateway settings go; data stays). */
function disconnect() {
  removeTriggers_();
  const doc = PropertiesService.getDocumentProperties();
  doc.deleteProperty(PROP.url);
  PropertiesService.getScriptProperties().deleteProperty(PROP.token);
  SpreadsheetApp.getActiveSpreadsheet().toast('sheetsync is disconnected; the sheet keeps its data.', 'sheetsync');
}

// ---- Runs -----------------------------------------------------------------------------------

/** Menu "Sync now": a full run that ignores the backoff; reports in a toast. */
function syncNow() {
  const run = runSync_({ manual: true });
  SpreadsheetApp.getActiveSpreadsheet().toast(run.message, 'sheetsync', 8);
  return run;
}

/** Time-driven trigger (every minute). */
function syncTick() {
  return runSync_({ manual: false });
}

/** Installable onEdit trigger: queues the edit, then flushes if nothing else is running. */
function onEditInstalled(/** @type {GoogleAppsScript.Events.SheetsOnEdit} */ e) {
  const editedAt = Date.now();
  const settings = loadSettings_();
  if (!settings || !e || !e.range || e.range.getSheet().getName() !== settings.sheetName) return;
  const ctx = newContext_(settings, { budgetMs: ON_EDIT_BUDGET_MS });
  const before = editedKeys_(ctx, e);  // before waiting: a script may move rows meanwhile
  withDocumentLock_(function () { captureEdit_(ctx, e, editedAt, before); });
  for (let i = 0; i < 3 && hasTime_(ctx) && !inBackoff_(ctx); i++) {
    const r = withScriptLock_(ctx, 0, function () { return flush_(ctx); });
    if (!r || r.error || queueLength_(ctx.ss) === 0) return;  // busy (that run sends it), failed, or done
  }
}

/** Installable onChange trigger: a removed row is sent as a delete right away. */
function onChangeInstalled(/** @type {GoogleAppsScript.Events.SheetsOnChange} */ e) {
  if (!e || String(e.changeType) !== 'REMOVE_ROW') return;
  runSync_({ manual: false, budgetMs: ON_EDIT_BUDGET_MS, pull: false });
}

/**
 * Runs fn(ctx) holding the script lock (waiting up to waitMs), with the status and state
 * reloaded under it and saved after. Returns fn's result, or null when the lock was busy.
 */
function withScriptLock_(/** @type {Ctx} */ ctx, /** @type {number} */ waitMs, /** @type {function(): *} */ fn) {
  const lock = LockService.getScriptLock();
  if (!lock.tryLock(waitMs)) return null;
  ctx.status = loadStatus_();
  ctx.state = null;
  try {
    return fn();
  } catch (err) {
    noteError_(ctx, errorText_(err));
    throw err;
  } finally {
    saveState_(ctx);
    saveStatus_(ctx.status);
    lock.releaseLock();
  }
}

/**
 * A sync run: reconcile, flush, pull (opts.pull false: no pull). Returns {ok, message}.
 * opts: {manual, budgetMs, pull}.
 */
function runSync_(/** @type {{manual: boolean, budgetMs?: number, pull?: boolean}} */ opts) {
  const settings = loadSettings_();
  if (!settings) return { ok: false, message: 'Not connected: use sheetsync → Connect….' };
  let ctx;
  try {
    ctx = newContext_(settings, opts);
  } catch (err) {
    return { ok: false, message: errorText_(err) };
  }
  const c = ctx;
  try {
    const r = withScriptLock_(c, opts.manual ? LOCK_WAIT_MS : 0, function () { return syncSteps_(c, opts); });
    return r || { ok: false, message: 'Another sync is running; its results will show in Status.' };
  } catch (err) {
    return { ok: false, message: errorText_(err) };
  }
}

/** The steps of a run. Caller holds the script lock. */
function syncSteps_(/** @type {Ctx} */ ctx, /** @type {{manual: boolean, pull?: boolean}} */ opts) {
  const queued = reconcile_(ctx);
  if (inBackoff_(ctx)) {
    const b = loadBackoff_();
    const msg = 'Waiting until ' + formatTime_(ctx, b.until) + ' before retrying: ' + b.reason;
    ctx.status.lastRun = { at: isoNow_(), ok: false, message: msg };
    return { ok: false, message: msg };
  }
  const push = flush_(ctx);
  const now = isoNow_();
  if (push.done) ctx.status.lastPushAt = now;
  let pull = { done: opts.pull === false, applied: 0, error: '' };
  if (!push.error && opts.pull !== false) pull = pull_(ctx);
  if (pull.done && opts.pull !== false) ctx.status.lastPullAt = isoNow_();
  const ok = push.done && pull.done && !push.error && !pull.error;
  if (ok) ctx.status.lastSyncAt = isoNow_();
  const message = (push.error || pull.error) ||
      ('Sent ' + push.sent + ' change(s)' + (queued ? ' (' + queued + ' found by reconcile)' : '') +
       ', applied ' + pull.applied + ' from the server' + (ok ? '.' : '; more to do, continuing next minute.'));
  ctx.status.lastRun = { at: now, ok: ok, message: message, sent: push.sent, pulled: pull.applied };
  return { ok: ok, message: message };
}

/** Returns an epoch-ms time as "yyyy-MM-dd HH:mm:ss" in the spreadsheet's time zone. */
function formatTime_(/** @type {Ctx} */ ctx, /** @type {number} */ ms) {
  return Utilities.formatDate(new Date(ms), ctx.tz, 'yyyy-MM-dd HH:mm:ss');
}
