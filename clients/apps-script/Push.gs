/**
 * Push: sheet edits -> the durable queue -> POST /v1/edits in batches -> results.
 *
 * onEdit turns an edit (one cell, a range, a paste, many rows) into one change per row with
 * event_id = Utilities.getUuid(), updated_at = the edit time and base = e.oldValue (single-cell
 * edits, where Apps Script gives it), and appends them to the queue under the document lock.
 * The flush sends the queue head in batches; the queue head is removed only after the results
 * are applied, so a failed request, a quota stop or a crash loses nothing (a replay answers
 * `duplicate`). Losing cells get the winning value (`current`) and a note saying who won.
 */

/**
 * Returns the UUIDs of the edited rows (e.range's rows from row 2, '' where a row has none),
 * read before the trigger waits for the document lock: a script holding it may delete or insert
 * rows meanwhile, and e.range keeps its coordinates.
 */
function editedKeys_(/** @type {Ctx} */ ctx, /** @type {GoogleAppsScript.Events.SheetsOnEdit} */ e) {
  const top = Math.max(e.range.getRow(), 2);
  const bottom = e.range.getLastRow();
  if (bottom < top) return [];
  const layout = requireLayout_(ctx);
  return ctx.sheet.getRange(top, layout.keyIndex, bottom - top + 1, 1).getValues().map(function (v) { return normalizeUuid_(v[0]); });
}

/** Captures one edit (made at epoch-ms editedAt) into the queue. `before`: editedKeys_ read
 *  before the lock (omitted: the rows cannot have moved). Caller holds the document lock.
 *  Returns the change count. */
function captureEdit_(/** @type {Ctx} */ ctx, /** @type {GoogleAppsScript.Events.SheetsOnEdit} */ e, /** @type {number} */ editedAt, /** @type {string[]=} */ before) {
  const range = e.range;
  const top = Math.max(range.getRow(), 2);
  const bottom = range.getLastRow();
  if (bottom < top) return 0;  // header edits: readLayout_ reports renames
  const layout = requireLayout_(ctx);
  const left = range.getColumn();
  const right = range.getLastColumn();
  const edited = layout.columns.filter(function (c) { return c.index >= left && c.index <= right; });
  const keyEdited = layout.keyIndex >= left && layout.keyIndex <= right;
  let rows = readBlock_(ctx, layout, top, bottom);
  let inEdit;
  if (before && before.some(function (k, i) { return k && (!rows[i] || rows[i].key !== k); })) {
    // Rows moved while this trigger waited: find the edited rows by UUID. Unkeyed ones are left
    // to reconcile, which keys them and sends them whole.
    const byKey = indexRows_(readRows_(ctx, layout));
    inEdit = before.filter(function (k) { return k && byKey[k]; }).map(function (k) { return byKey[k]; });
  } else {
    const unkeyed = rows.some(function (r) { return !r.key && hasData_(layout, r); });
    if (keyEdited || unkeyed) rows = readRows_(ctx, layout);  // identity needs the whole key column
    inEdit = rows.filter(function (r) { return r.sheetRow >= top && r.sheetRow <= bottom; });
    if (keyEdited) restoreEditedKey_(ctx, layout, e, rows, inEdit);
    else if (unkeyed) repairKeys_(ctx, layout, rows, new Set(inEdit.map(function (r) { return r.sheetRow; })));
  }
  const changes = editChanges_(ctx, layout, e, inEdit, edited);
  const times = stamps_(editedAt, changes.length);
  changes.forEach(function (c, i) { c.updated_at = times[i]; });
  enqueue_(ctx.ss, changes);
  if (inEdit.some(function (r) { return r.fresh; })) ensureRowTags_(ctx, inEdit);
  return changes.length;
}

/** Returns the changes (not yet stamped) of the edited rows: the edited columns, or every
 *  filled cell of a new row; base from e.oldValue for a single-cell edit. */
function editChanges_(/** @type {Ctx} */ ctx, /** @type {Layout} */ layout, /** @type {GoogleAppsScript.Events.SheetsOnEdit} */ e, /** @type {SheetRow[]} */ inEdit, /** @type {SyncColumn[]} */ edited) {
  const single = e.range.getNumRows() === 1 && e.range.getNumColumns() === 1;
  const changes = [];
  for (const r of inEdit) {
    if (!r.key) continue;
    const json = rowJson_(ctx, layout, r);
    const cells = r.fresh ? nonEmpty_(json) : pick_(json, edited);
    if (Object.keys(cells).length === 0) continue;
    const base = single && edited.length === 1 && !r.fresh ? baseFromOldValue_(e, edited[0]) : undefined;
    changes.push(newChange_(r.key, cells, '', base));
  }
  return changes;
}

/** Reads rows top..bottom only. */
function readBlock_(/** @type {Ctx} */ ctx, /** @type {Layout} */ layout, /** @type {number} */ top, /** @type {number} */ bottom) {
  const range = ctx.sheet.getRange(top, 1, bottom - top + 1, layout.width);
  const values = range.getValues();
  const formats = range.getNumberFormats();
  return values.map(function (v, i) {
    return /** @type {SheetRow} */ ({ sheetRow: top + i, key: normalizeUuid_(v[layout.keyIndex - 1]), values: v, formats: formats[i] });
  });
}

/**
 * Undoes an edit of the key column: a single cell gets e.oldValue back when that was a UUID;
 * ranges are checked against the whole sheet and the row tags (repairKeys_).
 */
function restoreEditedKey_(/** @type {Ctx} */ ctx, /** @type {Layout} */ layout, /** @type {GoogleAppsScript.Events.SheetsOnEdit} */ e, /** @type {SheetRow[]} */ rows, /** @type {SheetRow[]} */ inEdit) {
  const old = normalizeUuid_(e.oldValue);
  const single = e.range.getNumRows() === 1 && e.range.getNumColumns() === 1;
  if (single && old && inEdit.length === 1 && inEdit[0].key !== old) {
    const taken = rows.some(function (r) { return r.key === old && r !== inEdit[0]; });
    if (!taken) {
      inEdit[0].key = old;
      writeKeys_(ctx, layout, [inEdit[0]]);
      return;
    }
  }
  repairKeys_(ctx, layout, rows, new Set(inEdit.map(function (r) { return r.sheetRow; })));
}

/** Returns base {column: value} from e.oldValue (a string; "" or absent: the cell was empty). */
function baseFromOldValue_(/** @type {GoogleAppsScript.Events.SheetsOnEdit} */ e, /** @type {SyncColumn} */ col) {
  /** @type {Object<string, *>} */
  const base = {};
  const old = e.oldValue;
  if (old === undefined || old === null || old === '') {
    base[col.name] = null;
  } else if (col.kind === 'number' && /^-?\d+(\.\d+)?$/.test(String(old))) {
    base[col.name] = Number(old);
  } else if (col.kind === 'boolean' && /^(true|false)$/i.test(String(old))) {
    base[col.name] = String(old).toLowerCase() === 'true';
  } else if (col.kind === 'auto' || col.kind === 'text' || col.kind === 'number') {
    base[col.name] = String(old);
  } else {
    return undefined;  // dates arrive as serial numbers or display text: no reliable base
  }
  return base;
}

/** Returns the entries of `json` for the edited columns. */
function pick_(/** @type {Object<string, *>} */ json, /** @type {SyncColumn[]} */ cols) {
  /** @type {Object<string, *>} */
  const out = {};
  for (const c of cols) out[c.name] = json[c.name];
  return out;
}

/** Returns the non-empty entries of `json`. */
function nonEmpty_(/** @type {Object<string, *>} */ json) {
  /** @type {Object<string, *>} */
  const out = {};
  for (const k in json) if (json[k] !== null && json[k] !== '') out[k] = json[k];
  return out;
}

// ---- Flush ----------------------------------------------------------------------------------

/**
 * Sends the queue until it is empty, the run's time is up or the gateway fails.
 * Caller holds the script lock. Returns {sent, done, error}.
 */
function flush_(/** @type {Ctx} */ ctx) {
  let limit = MAX_CHANGES_PER_REQUEST;
  let sent = 0;
  while (hasTime_(ctx)) {
    const batch = withDocumentLock_(function () { return peekQueue_(ctx.ss, limit, MAX_REQUEST_BYTES); });
    if (batch.count === 0) return { sent: sent, done: true, error: '' };
    for (const bad of batch.corrupt) noteError_(ctx, 'Dropped an unreadable queue entry: ' + bad);
    const out = batch.changes.length ? postEdits_(ctx, batch.changes) : null;
    if (out && out.kind !== 'ok' && tooLarge_(out) && batch.changes.length > 1) {
      limit = Math.ceil(batch.changes.length / 2);  // find the change the gateway cannot take
      continue;
    }
    if (out && out.kind === 'ok') {
      const results = (out.json && out.json.results) || [];
      if (results.length !== batch.changes.length) {
        const msg = 'The gateway answered ' + results.length + ' results for ' + batch.changes.length + ' changes; keeping them queued.';
        noteError_(ctx, msg);
        return { sent: sent, done: false, error: msg };
      }
      applyResults_(ctx, batch.changes, results, batch.count);
    } else if (out && tooLarge_(out)) {
      rejectAll_(ctx, batch.changes, out);
    } else if (out) {
      noteError_(ctx, 'Sending edits failed: ' + out.message + (out.kind === 'retry' ? ' (will retry)' : ''));
      return { sent: sent, done: false, error: out.message };
    }
    // The results are saved before the batch leaves the queue: a run killed in between sends
    // it again, answered `duplicate` (and asked again), instead of reconcile taking the
    // acknowledged cells for new edits stamped now.
    saveState_(ctx);
    withDocumentLock_(function () { dropQueueHead_(ctx.ss, batch.count); });
    sent += batch.changes.length;
    limit = MAX_CHANGES_PER_REQUEST;
  }
  return { sent: sent, done: false, error: '' };
}

/** Posts a batch of changes. */
function postEdits_(/** @type {Ctx} */ ctx, /** @type {Array<Object>} */ changes) {
  return callGateway_(ctx, 'post', '/v1/edits', {
    spreadsheet_id: ctx.spreadsheetId,
    table: ctx.settings.table,
    changes: changes,
  });
}

/** Returns whether the gateway refused the batch as a whole because of one change in it
 *  (413 too large, 400 malformed): halving the batch isolates that change. */
function tooLarge_(/** @type {Outcome} */ out) {
  return out.kind === 'fail' && (out.code === 413 || out.code === 400);
}

/** Records every change of a batch the gateway refused as rejected (they leave the queue). */
function rejectAll_(/** @type {Ctx} */ ctx, /** @type {Array<Object>} */ changes, /** @type {Outcome} */ out) {
  for (const c of changes) noteRejected_(ctx, c, { code: out.errorCode || ('http_' + out.code), error: out.message });
}

/** Returns {uuid: SheetRow}. */
function indexRows_(/** @type {SheetRow[]} */ rows) {
  /** @type {Object<string, SheetRow>} */
  const out = {};
  for (const r of rows) if (r.key && !out[r.key]) out[r.key] = r;
  return out;
}

/** Returns {name: SyncColumn}. */
function columnsByName_(/** @type {Layout} */ layout) {
  /** @type {Object<string, SyncColumn>} */
  const out = {};
  for (const c of layout.columns) out[c.name] = c;
  return out;
}

/** Deletes sheet rows (1-based), bottom up, contiguous runs at once. */
function deleteSheetRows_(/** @type {Ctx} */ ctx, /** @type {number[]} */ sheetRows) {
  const sorted = sheetRows.slice().sort(function (a, b) { return b - a; });
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] - 1) j++;
    const first = sorted[j];
    const n = j - i + 1;
    if (ctx.sheet.getMaxRows() - n < 2) {
      ctx.sheet.insertRowsAfter(ctx.sheet.getMaxRows(), 1);  // a sheet keeps at least one row
    }
    ctx.sheet.deleteRows(first, n);
    i = j + 1;
  }
}
