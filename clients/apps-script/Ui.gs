/**
 * Ui: the Status sidebar — last sync, queue length, rejected changes with their reasons,
 * errors, column warnings and row-tag coverage; nothing fails silently.
 * The HTML is built here (escaped) so that it can be checked without a browser.
 */

/** Menu "Status": opens the sidebar. */
function showStatus() {
  const html = HtmlService.createHtmlOutput(getStatusHtml()).setTitle('sheetsync status');
  SpreadsheetApp.getUi().showSidebar(html);
}

/** Returns what the sidebar shows, as data. */
function getStatus() {
  const settings = loadSettings_();
  const ss = SpreadsheetApp.getActiveSpreadsheet();
  const status = loadStatus_();
  const backoff = loadBackoff_();
  return {
    connected: !!settings,
    url: settings ? settings.url : '',
    table: settings ? settings.table : '',
    sheetName: settings ? settings.sheetName : '',
    timeZone: ss.getSpreadsheetTimeZone(),
    queueLength: queueLength_(ss),
    resyncing: !!PropertiesService.getDocumentProperties().getProperty(PROP.resync),
    retryAt: backoff.until > Date.now() ? new Date(backoff.until).toISOString() : '',
    retryReason: backoff.until > Date.now() ? backoff.reason : '',
    lastSyncAt: status.lastSyncAt || '',
    lastPushAt: status.lastPushAt || '',
    lastPullAt: status.lastPullAt || '',
    lastRun: status.lastRun || null,
    conflicts: status.conflicts || 0,
    rejected: status.rejected,
    errors: status.errors,
    warnings: status.warnings,
    rowTags: status.rowTags || null,
  };
}

/** Returns the sidebar page. */
function getStatusHtml() {
  return renderStatusHtml_(getStatus());
}

/** Sidebar button: forgets the listed rejected changes. */
function dismissRejected() {
  const lock = LockService.getScriptLock();
  lock.waitLock(LOCK_WAIT_MS);
  try {
    const status = loadStatus_();
    status.rejected = [];
    status.errors = [];
    saveStatus_(status);
  } finally {
    lock.releaseLock();
  }
  return getStatusHtml();
}

/** Returns `s` escaped for HTML text and attributes. */
function escapeHtml_(/** @type {*} */ s) {
  return String(s === null || s === undefined ? '' : s).replace(/[&<>"']/g, function (c) {
    return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c] || c;
  });
}

/** Returns the sidebar HTML for a getStatus() model. */
function renderStatusHtml_(/** @type {Object} */ m) {
  const e = escapeHtml_;
  const parts = ['<!DOCTYPE html><html><head><meta charset="utf-8"><base target="_top"><style>',
    'body{font:13px Arial,sans-serif;margin:8px}h3{margin:14px 0 4px}ul{padding-left:16px;margin:4px 0}',
    '.bad{color:#b00020}.ok{color:#137333}.muted{color:#5f6368}li{margin-bottom:4px}',
    '</style></head><body><div id="s">'];
  if (!m.connected) {
    parts.push('<p>Not connected. Use <b>sheetsync → Connect…</b>.</p>');
  } else {
    parts.push('<p>Sheet <b>' + e(m.sheetName) + '</b> ↔ table <b>' + e(m.table) + '</b><br><span class="muted">' + e(m.url) + '</span></p>');
    parts.push('<p>Last full sync: <b>' + e(m.lastSyncAt || 'never') + '</b><br>Last push: ' + e(m.lastPushAt || 'never') +
        '<br>Last pull: ' + e(m.lastPullAt || 'never') + '<br>Queued edits: <b id="queue">' + e(m.queueLength) + '</b>' +
        (m.resyncing ? '<br>Resyncing the whole table…' : '') + '<br>Conflicts resolved (cells overwritten by newer values): ' + e(m.conflicts) + '</p>');
    if (m.lastRun) parts.push('<p class="' + (m.lastRun.ok ? 'ok' : 'bad') + '">Last run ' + e(m.lastRun.at) + ': ' + e(m.lastRun.message) + '</p>');
    if (m.retryAt) parts.push('<p class="bad">Retrying after ' + e(m.retryAt) + ': ' + e(m.retryReason) + '</p>');
  }
  parts.push(listHtml_('Rejected changes', m.rejected || [], function (r) {
    return 'row ' + e(r.row_id) + ' — ' + e(r.cells) + ': <b>' + e(r.code) + '</b> ' + e(r.error) + ' <span class="muted">(' + e(r.at) + ')</span>';
  }));
  parts.push(listHtml_('Errors', m.errors || [], function (x) {
    return e(x.message) + (x.count > 1 ? ' (×' + e(x.count) + ')' : '') + ' <span class="muted">(' + e(x.at) + ')</span>';
  }));
  parts.push(listHtml_('Columns', m.warnings || [], function (w) { return e(w); }));
  if (m.rowTags) {
    parts.push('<p class="muted">Row tags (developer metadata): ' + e(m.rowTags.tagged) + ' of ' + e(m.rowTags.rows) +
        ' rows' + (m.rowTags.full ? ' — the metadata quota is full; other rows rely on the protected key column' : '') + '.</p>');
  }
  parts.push('</div><p><button onclick="run(\'syncNowHtml\')">Sync now</button> <button onclick="run(\'getStatusHtml\')">Refresh</button> ',
      '<button onclick="run(\'dismissRejected\')">Clear lists</button></p>',
      '<script>function run(f){google.script.run.withSuccessHandler(function(h){document.open();document.write(h);document.close();})',
      '.withFailureHandler(function(err){alert(err.message);})[f]();}</script></body></html>');
  return parts.join('');
}

/** Returns a heading and list, or '' for an empty list. */
function listHtml_(/** @type {string} */ title, /** @type {Array<*>} */ items, /** @type {function(*): string} */ render) {
  if (!items.length) return '';
  return '<h3>' + escapeHtml_(title) + ' (' + items.length + ')</h3><ul>' +
      items.slice().reverse().map(function (x) { return '<li>' + render(x) + '</li>'; }).join('') + '</ul>';
}

/** Sidebar button "Sync now": runs a sync and returns the refreshed page. */
function syncNowHtml() {
  runSync_({ manual: true });
  return getStatusHtml();
}
