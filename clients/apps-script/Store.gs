/**
 * Store: what survives between executions.
 *
 *  - The edit queue: hidden sheet _sheetsync_queue, one change per row, oldest first. onEdit
 *    and reconcile append; only the flusher (holding the script lock) removes from the top.
 *    Every read or write of the queue holds the document lock, so an onEdit running during a
 *    flush never loses an edit. A hidden sheet rather than properties: a pasted block of
 *    1,000 rows would exceed the 500 KB property store.
 *  - The synced state: hidden sheet _sheetsync_state, one row per synced row: its UUID and
 *    the last value of each cell the server acknowledged (or sent us), plus values it
 *    rejected. Reconcile compares the sheet against it; only runs holding the script lock
 *    read or write it.
 *  - The status (Document Properties): last sync, errors, rejected changes, warnings.
 * JSON longer than a cell holds is split into chunks over the row's cells; each chunk starts
 * with "~" so that Sheets never reads a chunk as a number, a date or a formula.
 */

/**
 * @typedef {Object} RowState
 * @property {Object<string, *>} c last acknowledged value per column (the server's exact value)
 * @property {Object<string, *>=} s what the cell reads back, per column whose value the cell
 *     cannot show exactly (a DATETIME shown as a date in the sheet's zone, microseconds, a
 *     {"base64": …} or JSON object shown as text): reconcile compares the cell with it
 * @property {Object<string, *>=} r last rejected value per column (not re-sent while the cell holds it)
 * @property {number=} g generation of the last snapshot resync that saw the row
 */

/** Runs fn holding the document lock (or inside the caller's hold of it). */
function withDocumentLock_(/** @type {function(): *} */ fn) {
  const lock = LockService.getDocumentLock();
  if (lock.hasLock()) return fn();
  lock.waitLock(LOCK_WAIT_MS);
  try {
    return fn();
  } finally {
    SpreadsheetApp.flush();
    lock.releaseLock();
  }
}

/** Returns the hidden sheet `name`, creating it (hidden, warning-protected, plain text). */
function hiddenSheet_(/** @type {GoogleAppsScript.Spreadsheet.Spreadsheet} */ ss, /** @type {string} */ name) {
  let sheet = ss.getSheetByName(name);
  if (sheet) return sheet;
  const active = ss.getActiveSheet();
  sheet = ss.insertSheet(name, ss.getNumSheets());
  // Two columns to start with (writeRows_ adds more for long JSON): a spreadsheet holds at
  // most 10 million cells, and a new sheet's 26 columns would waste 26,000 of them.
  if (sheet.getMaxColumns() > 2) sheet.deleteColumns(3, sheet.getMaxColumns() - 2);
  sheet.getRange(1, 1, sheet.getMaxRows(), sheet.getMaxColumns()).setNumberFormat(TEXT_FORMAT);
  sheet.protect().setDescription('sheetsync internal data — do not edit').setWarningOnly(true);
  sheet.hideSheet();
  if (active) ss.setActiveSheet(active);  // insertSheet activated the new sheet
  return sheet;
}

/** Grows `sheet` to at least rows x cols (getRange beyond the grid throws). */
function ensureSize_(/** @type {GoogleAppsScript.Spreadsheet.Sheet} */ sheet, /** @type {number} */ rows, /** @type {number} */ cols) {
  const maxRows = sheet.getMaxRows();
  if (rows > maxRows) sheet.insertRowsAfter(maxRows, rows - maxRows);
  const maxCols = sheet.getMaxColumns();
  if (cols > maxCols) sheet.insertColumnsAfter(maxCols, cols - maxCols);
}

/** Returns `json` as chunks of at most CELL_CHUNK_CHARS, each prefixed with "~". */
function chunkJson_(/** @type {string} */ json) {
  const out = [];
  for (let i = 0; i < json.length || i === 0; i += CELL_CHUNK_CHARS) out.push('~' + json.slice(i, i + CELL_CHUNK_CHARS));
  return out;
}

/** Returns the JSON text stored in cells[from..] by chunkJson_. */
function unchunkJson_(/** @type {Array<*>} */ cells, /** @type {number} */ from) {
  let s = '';
  for (let i = from; i < cells.length; i++) {
    const c = String(cells[i]);
    if (c === '') break;
    s += c.charAt(0) === '~' ? c.slice(1) : c;
  }
  return s;
}

/** Writes rows of cells from the first row down, padding rows to one width; clears the rest. */
function writeRows_(/** @type {GoogleAppsScript.Spreadsheet.Sheet} */ sheet, /** @type {Array<Array<string>>} */ rows, /** @type {number} */ startRow) {
  if (rows.length === 0) return;
  const width = rows.reduce(function (w, r) { return Math.max(w, r.length); }, 1);
  const padded = rows.map(function (r) { return r.concat(new Array(width - r.length).fill('')); });
  ensureSize_(sheet, startRow + rows.length - 1, width);
  const range = sheet.getRange(startRow, 1, rows.length, width);
  range.setNumberFormat(TEXT_FORMAT);
  range.setValues(padded);
}

// ---- Queue ----------------------------------------------------------------------------------

/** Appends changes to the queue. Caller holds the document lock. */
function enqueue_(/** @type {GoogleAppsScript.Spreadsheet.Spreadsheet} */ ss, /** @type {Array<Object>} */ changes) {
  if (changes.length === 0) return;
  const sheet = hiddenSheet_(ss, QUEUE_SHEET);
  writeRows_(sheet, changes.map(function (c) { return chunkJson_(JSON.stringify(c)); }), sheet.getLastRow() + 1);
}

/** Returns the number of queued changes. */
function queueLength_(/** @type {GoogleAppsScript.Spreadsheet.Spreadsheet} */ ss) {
  const sheet = ss.getSheetByName(QUEUE_SHEET);
  return sheet ? sheet.getLastRow() : 0;
}

/**
 * Returns the oldest queued changes, at most `max` of them and about `maxBytes` of UTF-8
 * JSON (at least one): {changes, count, corrupt}; `count` rows are to be dropped once handled, corrupt
 * rows (not JSON) among them are reported and skipped. Caller holds the document lock.
 */
function peekQueue_(/** @type {GoogleAppsScript.Spreadsheet.Spreadsheet} */ ss, /** @type {number} */ max, /** @type {number} */ maxBytes) {
  const sheet = ss.getSheetByName(QUEUE_SHEET);
  const n = sheet ? Math.min(sheet.getLastRow(), max) : 0;
  const out = { changes: /** @type {Array<Object>} */ ([]), count: 0, corrupt: /** @type {string[]} */ ([]) };
  if (!sheet || n === 0) return out;
  const rows = sheet.getRange(1, 1, n, sheet.getLastColumn()).getValues();
  let bytes = 0;
  for (const row of rows) {
    const text = unchunkJson_(row, 0);
    const size = utf8Bytes_(text);  // the gateway's limit is in bytes of the UTF-8 body
    if (out.count > 0 && bytes + size > maxBytes) break;
    bytes += size + 1;
    out.count++;
    const change = parseJson_(text, null);
    if (change && change.event_id) out.changes.push(change);
    else out.corrupt.push(text.slice(0, 200));
  }
  return out;
}

/** Returns the length of `text` in UTF-8 bytes. */
function utf8Bytes_(/** @type {string} */ text) {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;  // a surrogate pair: one code point beyond U+FFFF
      i++;
    } else {
      n += 3;
    }
  }
  return n;
}

/** Removes the `count` oldest queued changes. Caller holds the document lock. */
function dropQueueHead_(/** @type {GoogleAppsScript.Spreadsheet.Spreadsheet} */ ss, /** @type {number} */ count) {
  const sheet = ss.getSheetByName(QUEUE_SHEET);
  if (!sheet || count <= 0) return;
  const last = sheet.getLastRow();
  if (count >= last) {
    sheet.getRange(1, 1, sheet.getMaxRows(), sheet.getMaxColumns()).clearContent();
  } else {
    sheet.deleteRows(1, count);  // rows below remain, so the sheet never loses all its rows
  }
}

/**
 * Returns what the queue holds: `cells` has "rowId\tcolumn" per queued cell edit, `rows` every
 * row with a queued change, `deletes` rows with a queued delete. Caller holds the document lock.
 */
function pendingIndex_(/** @type {GoogleAppsScript.Spreadsheet.Spreadsheet} */ ss, /** @type {number} */ skipHead = 0) {
  const index = { cells: new Set(), rows: new Set(), deletes: new Set() };
  const sheet = ss.getSheetByName(QUEUE_SHEET);
  const last = sheet ? sheet.getLastRow() : 0;
  const from = skipHead + 1;
  if (!sheet || last < from) return index;
  const rows = sheet.getRange(from, 1, last - from + 1, sheet.getLastColumn()).getValues();
  for (const row of rows) {
    const c = parseJson_(unchunkJson_(row, 0), null);
    if (!c || !c.row_id) continue;
    index.rows.add(c.row_id);
    if (c.deleted) index.deletes.add(c.row_id);
    for (const col in c.cells || {}) index.cells.add(c.row_id + '\t' + col);
  }
  return index;
}

/**
 * Returns n RFC 3339 UTC times with microseconds for changes made at epoch-ms `ms`, each after
 * every time this spreadsheet stamped before: two edits within one millisecond keep their order
 * (the merge breaks equal times by event_id, which is random). Caller holds the document lock.
 */
function stamps_(/** @type {number} */ ms, /** @type {number} */ n) {
  const doc = PropertiesService.getDocumentProperties();
  let us = Math.max(ms * 1000, Number(doc.getProperty(PROP.stamp) || 0) + 1);
  const out = [];
  for (let i = 0; i < n; i++, us++) {
    out.push(new Date(Math.floor(us / 1000)).toISOString().slice(0, 23) + String(us % 1000).padStart(3, '0') + 'Z');
  }
  if (n > 0) doc.setProperty(PROP.stamp, String(us - 1));
  return out;
}

/** Returns a new change for the queue. */
function newChange_(/** @type {string} */ rowId, /** @type {Object<string, *>|null} */ cells, /** @type {string} */ updatedAt, /** @type {Object<string, *>|undefined} */ base = undefined) {
  /** @type {Object<string, *>} */
  const c = { event_id: Utilities.getUuid(), row_id: rowId, updated_at: updatedAt };
  if (cells === null) c.deleted = true;
  else c.cells = cells;
  if (base && Object.keys(base).length) c.base = base;
  return c;
}

// ---- State ----------------------------------------------------------------------------------

/** Returns the synced state (loading it on first use in this run). */
function ensureState_(/** @type {Ctx} */ ctx) {
  if (ctx.state) return ctx.state;
  /** @type {Object<string, RowState>} */
  const state = {};
  const sheet = ctx.ss.getSheetByName(STATE_SHEET);
  const last = sheet ? sheet.getLastRow() : 0;
  if (sheet && last > 0) {
    const rows = sheet.getRange(1, 1, last, sheet.getLastColumn()).getValues();
    for (const row of rows) {
      const id = String(row[0]);
      const st = parseJson_(unchunkJson_(row, 1), null);
      if (id && st) state[id] = st;
    }
  }
  ctx.state = state;
  return state;
}

/** Writes the state back when this run changed it. */
function saveState_(/** @type {Ctx} */ ctx) {
  if (!ctx.state || !ctx.stateDirty) return;
  const sheet = hiddenSheet_(ctx.ss, STATE_SHEET);
  const rows = [];
  for (const id in ctx.state) rows.push([id].concat(chunkJson_(JSON.stringify(ctx.state[id]))));
  const last = sheet.getLastRow();
  if (last > rows.length) sheet.getRange(rows.length + 1, 1, last - rows.length, sheet.getMaxColumns()).clearContent();
  writeRows_(sheet, rows, 1);
  ctx.stateDirty = false;
}

/** Returns the state of a row, creating an empty one. */
function rowState_(/** @type {Ctx} */ ctx, /** @type {string} */ id) {
  const state = ensureState_(ctx);
  if (!state[id]) state[id] = { c: {} };
  if (ctx.resyncGen) state[id].g = ctx.resyncGen;  // touched during a resync: not a row it missed
  ctx.stateDirty = true;
  return state[id];
}

/**
 * Records `json` as the synced value of column `col`. `shown`: what the cell reads back while it
 * holds that value (undefined: the cell holds what was sent); kept only where it differs from
 * `json`, so that reconcile does not take the difference for an edit while the next edit's base
 * is still the server's exact value.
 */
function setSynced_(/** @type {RowState} */ st, /** @type {string} */ col, /** @type {*} */ json, /** @type {*} */ shown = undefined) {
  st.c[col] = json;
  if (shown !== undefined && !sameJson_(shown, json)) {
    st.s = st.s || {};
    st.s[col] = shown;
  } else if (st.s) {
    delete st.s[col];
    if (Object.keys(st.s).length === 0) delete st.s;
  }
}

/** Returns what the cell of a synced column reads back as while it holds the synced value. */
function syncedShown_(/** @type {RowState} */ st, /** @type {string} */ col) {
  return st.s && has_(st.s, col) ? st.s[col] : st.c[col];
}

/** Forgets a row (deleted on both sides). */
function dropRowState_(/** @type {Ctx} */ ctx, /** @type {string} */ id) {
  const state = ensureState_(ctx);
  if (state[id]) {
    delete state[id];
    ctx.stateDirty = true;
  }
}

// ---- Status ---------------------------------------------------------------------------------

/** Returns the saved status. */
function loadStatus_() {
  const s = parseJson_(PropertiesService.getDocumentProperties().getProperty(PROP.status), {});
  s.errors = s.errors || [];
  s.rejected = s.rejected || [];
  s.warnings = s.warnings || [];
  s.conflicts = s.conflicts || 0;
  return s;
}

/** Saves the status, trimming the oldest entries until it fits one property value. */
function saveStatus_(/** @type {Object} */ status) {
  status.errors = status.errors.slice(-STATUS_MAX_ERRORS);
  status.rejected = status.rejected.slice(-STATUS_MAX_REJECTED);
  let json = JSON.stringify(status);
  while (json.length > STATUS_MAX_CHARS && (status.rejected.length || status.errors.length > 1)) {
    if (status.rejected.length) status.rejected.shift();
    else status.errors.shift();
    json = JSON.stringify(status);
  }
  PropertiesService.getDocumentProperties().setProperty(PROP.status, json.slice(0, STATUS_MAX_CHARS));
}

/** Records an error for the sidebar (a repeat of the last one only counts up). */
function noteError_(/** @type {Ctx} */ ctx, /** @type {string} */ message) {
  const errors = ctx.status.errors;
  const last = errors[errors.length - 1];
  const at = isoNow_();
  if (last && last.message === message) {
    last.count = (last.count || 1) + 1;
    last.at = at;
  } else {
    errors.push({ at: at, message: String(message).slice(0, 500) });
  }
  ctx.status.lastError = { at: at, message: String(message).slice(0, 500) };
  console.warn('sheetsync: ' + message);
}

/** Records a change the gateway rejected. */
function noteRejected_(/** @type {Ctx} */ ctx, /** @type {Object} */ change, /** @type {Object} */ result) {
  ctx.status.rejected.push({
    at: isoNow_(),
    row_id: change.row_id,
    cells: change.deleted ? '(delete)' : Object.keys(change.cells || {}).map(function (k) {
      return k + '=' + displayJson_(change.cells[k]);
    }).join(', ').slice(0, 200),
    code: result.code || '',
    error: String(result.error || '').slice(0, 300),
  });
}
