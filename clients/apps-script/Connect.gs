/**
 * Connect: the "sheetsync → Connect…" dialog's server side. Checks URL, token and table against
 * the gateway, saves the settings (token in Script Properties, the rest in Document Properties,
 * never in cells), prepares the sheet (header, key column, column tags, protection, formats,
 * hidden sheets), installs the triggers and runs a first sync (a resync from GET /v1/rows).
 */

/** Opens the Connect dialog (Connect.html). */
function showConnectDialog() {
  const html = HtmlService.createHtmlOutputFromFile('Connect').setWidth(460).setHeight(560);
  SpreadsheetApp.getUi().showModalDialog(html, 'Connect sheetsync');
}

/** Returns the values the Connect dialog starts with (never the token). */
function connectDefaults() {
  const s = loadSettings_();
  return {
    url: s ? s.url : '',
    table: s ? s.table : 'users',
    sheetName: s ? s.sheetName : SpreadsheetApp.getActiveSheet().getName(),
    keyColumn: s ? s.keyColumn : 'uuid',
    kinds: s ? formatKinds_(s.kinds) : '',
    connected: !!s,
  };
}

/**
 * Connects this spreadsheet to a table: checks the gateway and the token, prepares the sheet
 * (header, key column, column tags, protection, formats, hidden sheets), installs the triggers
 * and runs a first sync. form: {url, token, table, sheetName, keyColumn, kinds}; an empty token
 * keeps the saved one. Returns a sentence for the dialog; throws an Error for a person.
 */
function connect(/** @type {Object<string, string>} */ form) {
  const old = loadSettings_();
  const settings = settingsFromForm_(form, old);
  const probe = probeGateway_(settings);
  settings.columns = union_(settings.columns, probe.columns);
  settings.kinds = Object.assign(probe.kinds, settings.kinds);
  const lock = LockService.getScriptLock();
  lock.waitLock(LOCK_WAIT_MS);
  try {
    if (!sameTarget_(old, settings)) resetSyncState_();
    saveSettings_(settings);
    const ctx = newContext_(settings, { manual: true });
    const names = withDocumentLock_(function () { return prepareSheet_(ctx, settings.columns); });
    settings.columns = union_(settings.columns, names);
    saveSettings_(settings);
    installTriggers_();
  } finally {
    lock.releaseLock();
  }
  const run = runSync_({ manual: true });
  return 'Connected "' + settings.sheetName + '" to table ' + settings.table + '. ' + run.message;
}

/**
 * Returns whether `settings` sync the same gateway, table and tab as `old`, so that the synced
 * state (the rows that tab and the table last agreed on) and the queue still apply. Another tab
 * has other rows: keeping the state would send a delete for every row the new tab lacks.
 */
function sameTarget_(/** @type {Settings|null} */ old, /** @type {Settings} */ settings) {
  if (!old || old.url !== settings.url || old.table !== settings.table) return false;
  // Settings saved before the tab id was kept: the name is all there is.
  return old.sheetId ? old.sheetId === settings.sheetId : old.sheetName === settings.sheetName;
}

/** Returns validated settings from the dialog's form. */
function settingsFromForm_(/** @type {Object<string, string>} */ form, /** @type {Settings|null} */ old) {
  const url = String(form.url || '').trim().replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s/]+/.test(url)) throw new Error('The gateway URL must start with https:// (or http:// for a local test).');
  const token = String(form.token || '').trim() || (old ? old.token : '');
  if (!token) throw new Error('Enter the gateway token.');
  const table = String(form.table || '').trim();
  if (!/^[A-Za-z0-9_$]{1,64}$/.test(table)) throw new Error('The table name must be a MySQL identifier (letters, digits, _).');
  const sheetName = String(form.sheetName || '').trim() || SpreadsheetApp.getActiveSheet().getName();
  const sheet = SpreadsheetApp.getActiveSpreadsheet().getSheetByName(sheetName);
  if (sheetName === QUEUE_SHEET || sheetName === STATE_SHEET || !sheet) {
    throw new Error('There is no sheet named "' + sheetName + '" to sync.');
  }
  return {
    url: url, token: token, table: table, sheetName: sheetName, sheetId: sheet.getSheetId(),
    keyColumn: String(form.keyColumn || '').trim() || 'uuid',
    kinds: parseKinds_(String(form.kinds || '')),
    columns: old && old.table === table ? old.columns : [],
  };
}

/** Parses "name:text, score:number" into {name: 'text', score: 'number'}. */
function parseKinds_(/** @type {string} */ text) {
  /** @type {Object<string, string>} */
  const kinds = {};
  for (const part of text.split(/[,;\n]/)) {
    const p = part.trim();
    if (!p) continue;
    const m = /^([^:\s]+)\s*:\s*(\w+)$/.exec(p);
    if (!m || COLUMN_KINDS.indexOf(m[2].toLowerCase()) < 0) {
      throw new Error('Column type "' + p + '" is not column:type with a type of ' + COLUMN_KINDS.join(', ') + '.');
    }
    kinds[m[1]] = m[2].toLowerCase();
  }
  return kinds;
}

/** Returns "name:text, score:number". */
function formatKinds_(/** @type {Object<string, string>} */ kinds) {
  return Object.keys(kinds).map(function (k) { return k + ':' + kinds[k]; }).join(', ');
}

/**
 * Checks URL, token and table with an empty POST /v1/edits, then samples GET /v1/rows for the
 * column names and kinds. Returns {columns, kinds}; throws a message for a person.
 */
function probeGateway_(/** @type {Settings} */ settings) {
  const ctx = /** @type {Ctx} */ ({ settings: settings, deadline: Date.now() + 60000, manual: true });
  const out = callGateway_(ctx, 'post', '/v1/edits', { spreadsheet_id: '', table: settings.table, changes: [] });
  if (out.kind !== 'ok') {
    if (out.code === 401) throw new Error('The gateway refused the token (401).');
    if (out.code === 404 && !isMissingRoute_(out)) throw new Error('The gateway does not sync table "' + settings.table + '": ' + out.message);
    if (out.code === 404) throw new Error(settings.url + ' does not look like a sheetsync gateway (no /v1/edits route).');
    throw new Error('Cannot use the gateway: ' + out.message);
  }
  const sample = callGateway_(ctx, 'get', '/v1/rows' + queryString_({ table: settings.table, limit: 50 }));
  const rows = sample.kind === 'ok' && sample.json ? sample.json.rows || [] : [];
  return { columns: columnsOf_(rows), kinds: inferKinds_(rows) };
}

/** Returns the column names in sampled rows. */
function columnsOf_(/** @type {Array<Object>} */ rows) {
  const names = [];
  for (const r of rows) for (const k in r.cells || {}) if (names.indexOf(k) < 0) names.push(k);
  return names;
}

/** Returns column kinds guessed from sampled values (text, number, boolean, date, datetime, time). */
function inferKinds_(/** @type {Array<Object>} */ rows) {
  /** @type {Object<string, string>} */
  const kinds = {};
  for (const r of rows) {
    for (const k in r.cells || {}) {
      const v = r.cells[k];
      if (v === null || kinds[k]) continue;
      if (typeof v === 'number') kinds[k] = 'number';
      else if (typeof v === 'boolean') kinds[k] = 'boolean';
      else if (typeof v !== 'string') kinds[k] = 'text';
      else if (RE_DATE.test(v)) kinds[k] = 'date';
      else if (RE_DATETIME.test(v)) kinds[k] = 'datetime';
      else if (RE_TIME.test(v)) kinds[k] = 'time';
      else kinds[k] = 'text';
    }
  }
  return kinds;
}

/** Returns a followed by the entries of b it lacks. */
function union_(/** @type {string[]} */ a, /** @type {string[]} */ b) {
  return a.concat(b.filter(function (x) { return a.indexOf(x) < 0; }));
}

/** Forgets cursor, state, queue and backoff (connecting to another table, gateway or tab). */
function resetSyncState_() {
  const doc = PropertiesService.getDocumentProperties();
  [PROP.cursor, PROP.resync, PROP.backoff, PROP.status].forEach(function (k) { doc.deleteProperty(k); });
  const ss = SpreadsheetApp.getActiveSpreadsheet();
  [QUEUE_SHEET, STATE_SHEET].forEach(function (name) {
    const sh = ss.getSheetByName(name);
    if (sh) sh.getRange(1, 1, sh.getMaxRows(), sh.getMaxColumns()).clearContent();
  });
  startResync_(true);  // the first pull lists the table (GET /v1/rows) and takes its cursor
}

/**
 * Prepares the synced sheet: a header row (from the table's columns when the sheet is empty),
 * the key column (inserted first when missing), column tags, protection, formats, frozen header,
 * hidden sheets. Returns the synced column names. Caller holds the document lock.
 */
function prepareSheet_(/** @type {Ctx} */ ctx, /** @type {string[]} */ columns) {
  const sheet = ctx.sheet;
  const key = ctx.settings.keyColumn;
  const width = sheet.getLastColumn();
  const headers = width ? sheet.getRange(1, 1, 1, width).getDisplayValues()[0].map(function (h) { return String(h).trim(); }) : [];
  let layout = readLayout_(ctx);
  if (!layout.keyIndex && headers.indexOf(key) < 0) {
    const names = [key].concat(union_(columns, Object.keys(ctx.settings.kinds)).filter(function (c) { return c !== key; }));
    if (headers.some(function (h) { return h; })) {
      sheet.insertColumnBefore(1);
      names.length = 1;
    } else if (names.length < 2) {
      throw new Error('Type the MySQL column names into row 1 of "' + sheet.getName() + '" (or list them under Column types), then connect again.');
    }
    ensureSize_(sheet, 2, names.length);
    sheet.getRange(1, 1, 1, names.length).setNumberFormat(TEXT_FORMAT).setValues([names]);
  }
  if (adoptColumns_(ctx, readLayout_(ctx), null)) layout = readLayout_(ctx);
  layout = requireLayout_(ctx);
  protectKeyColumn_(ctx, layout);
  applyColumnFormats_(ctx, layout);
  if (sheet.getFrozenRows() < 1) sheet.setFrozenRows(1);
  hiddenSheet_(ctx.ss, QUEUE_SHEET);
  hiddenSheet_(ctx.ss, STATE_SHEET);
  return layout.columns.map(function (c) { return c.name; });
}
