/**
 * Results: what the gateway answered for each pushed change, applied to the synced state and
 * the sheet. Acknowledged cells become the synced state; a change the server had already is
 * asked about again; a losing cell gets the winning value
 * (`current`) at once and a note naming who won (`current_versions`) and when; an edit that lost
 * to a delete removes the row; a delete that lost shows the row again; rejected values get a
 * note, a line in Status, and are not re-sent while the cell holds them — until the server
 * accepts another change of the row, when reconcile sends whatever still differs.
 */

/**
 * Applies the per-change results: acknowledged cells go into the synced state; losing cells
 * get the winning value and a note; rejected values are remembered (not re-sent while the
 * cell holds them) and listed in the status.
 */
function applyResults_(/** @type {Ctx} */ ctx, /** @type {Array<Object>} */ changes, /** @type {Array<Object>} */ results, /** @type {number} */ queued) {
  const fixes = [];
  const again = [];
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i];
    const r = results[i];
    if (r.event_id && r.event_id !== c.event_id) noteError_(ctx, 'Result ' + i + ' is for another event (' + r.event_id + ')');
    if (r.status === 'duplicate') {
      again.push(askAgain_(c));
    } else if (r.status === 'rejected') {
      rejectChange_(ctx, c, r, fixes);
    } else if (c.deleted) {
      deleteResult_(ctx, c, r, fixes);
    } else {
      editResult_(ctx, c, r, fixes);
    }
  }
  if (fixes.length || again.length) {
    withDocumentLock_(function () {
      if (fixes.length) applyFixes_(ctx, fixes, queued);
      enqueue_(ctx.ss, again);
    });
  }
}

/**
 * A change answered `duplicate` was sent before (a POST whose answer was lost, a run killed
 * before it dropped the queue): the server took it then, and its answer, perhaps a newer value
 * that won, is lost. The synced state keeps what it had, and the change goes back into the queue
 * (reconcile and pulls leave queued cells alone) under the next event_id after its own: the same
 * time, and its id with "!" (the least printable character) appended, so that against every other
 * change it ranks as the first did, and the answer is what the first would have been.
 */
function askAgain_(/** @type {Object} */ c) {
  return Object.assign({}, c, { event_id: c.event_id + '!' });
}

/** Records the outcome of a cell edit. */
function editResult_(/** @type {Ctx} */ ctx, /** @type {Object} */ c, /** @type {Object} */ r, /** @type {Array<Object>} */ fixes) {
  if ((r.status === 'stale' || r.status === 'partial') && r.deleted && !r.current) {
    dropRowState_(ctx, c.row_id);
    fixes.push({ kind: 'remove', change: c, result: r });
    return;
  }
  const st = rowState_(ctx, c.row_id);
  const current = r.current || {};
  // The server took a change of this row: the person is working on it again, so cells held back
  // after a rejected change (all of that change's cells, the good ones too) may be sent again.
  delete st.r;
  for (const col in c.cells) {
    if (r.status !== 'stale' && r.status !== 'partial') {
      setSynced_(st, col, c.cells[col]);
    } else if (Object.prototype.hasOwnProperty.call(current, col)) {
      setSynced_(st, col, current[col], shownJson_(current[col], kindOf_(ctx, col), ctx.tz));
      ctx.status.conflicts++;
      fixes.push({ kind: 'cell', change: c, result: r, column: col });
    } else {
      setSynced_(st, col, c.cells[col]);  // listed as applied
    }
  }
}

/** Records the outcome of a delete: gone, or still there with newer cells (shown again). */
function deleteResult_(/** @type {Ctx} */ ctx, /** @type {Object} */ c, /** @type {Object} */ r, /** @type {Array<Object>} */ fixes) {
  if (!r.current) {
    dropRowState_(ctx, c.row_id);
    return;
  }
  const st = rowState_(ctx, c.row_id);
  st.c = {};
  delete st.s;
  for (const col in r.current) setSynced_(st, col, r.current[col], shownJson_(r.current[col], kindOf_(ctx, col), ctx.tz));
  ctx.status.conflicts++;
  fixes.push({ kind: 'restore', change: c, result: r });
}

/** Returns the kind of column `col` (Connect's column types; 'auto' when not set). */
function kindOf_(/** @type {Ctx} */ ctx, /** @type {string} */ col) {
  return ctx.settings.kinds[col] || 'auto';
}

/** Records a rejected change. */
function rejectChange_(/** @type {Ctx} */ ctx, /** @type {Object} */ c, /** @type {Object} */ r, /** @type {Array<Object>} */ fixes) {
  noteRejected_(ctx, c, r);
  if (c.deleted) return;
  const st = rowState_(ctx, c.row_id);
  st.r = st.r || {};
  for (const col in c.cells) st.r[col] = c.cells[col];
  fixes.push({ kind: 'rejected', change: c, result: r });
}

/**
 * Writes the winners of lost edits (and their notes), notes on rejected cells, removes rows
 * whose edit lost to a delete and shows again rows whose delete lost. A cell the person changed
 * again since (queued after the batch's `queued` rows) keeps the person's value. Caller holds the
 * document lock.
 */
function applyFixes_(/** @type {Ctx} */ ctx, /** @type {Array<Object>} */ fixes, /** @type {number} */ queued) {
  const layout = requireLayout_(ctx);
  const rows = readRows_(ctx, layout);
  const byKey = indexRows_(rows);
  const later = pendingIndex_(ctx.ss, queued);
  const byName = columnsByName_(layout);
  const removals = [];
  const restores = [];
  for (const f of fixes) {
    const row = byKey[f.change.row_id];
    if (f.kind === 'restore') {
      if (!row) restores.push(f);
    } else if (!row) {
      continue;
    } else if (f.kind === 'remove') {
      if (!later.rows.has(f.change.row_id)) removals.push(row.sheetRow);
      noteError_(ctx, 'An edit to row ' + f.change.row_id + ' lost to a delete ' + whoWhen_(ctx, f.result.current_versions, null) + '; the row was removed.');
    } else if (f.kind === 'cell') {
      fixCell_(ctx, row, byName[f.column], f, later);
    } else if (f.kind === 'rejected') {
      for (const col in f.change.cells) {
        if (byName[col]) addNote_(ctx, row.sheetRow, byName[col].index, 'rejected ' + displayJson_(f.change.cells[col]) + ': ' + (f.result.error || f.result.code));
      }
    }
  }
  if (restores.length) appendRestored_(ctx, layout, restores);
  deleteSheetRows_(ctx, removals);
}

/** Puts a losing cell's winning value back, with a note. */
function fixCell_(/** @type {Ctx} */ ctx, /** @type {SheetRow} */ row, /** @type {SyncColumn|undefined} */ col, /** @type {Object} */ f, /** @type {Object} */ later) {
  if (!col || later.cells.has(f.change.row_id + '\t' + col.name)) return;
  const sent = f.change.cells[col.name];
  const now = cellToJson_(row.values[col.index - 1], col.kind, row.formats[col.index - 1], ctx.tz);
  if (!sameJson_(now, sent)) return;  // changed again since; that edit is on its way
  const winner = f.result.current[col.name];
  const cell = jsonToCell_(winner, col.kind, ctx.tz);
  const range = ctx.sheet.getRange(row.sheetRow, col.index);
  if (cell.format) range.setNumberFormat(cell.format);
  range.setValue(cell.value);
  addNote_(ctx, row.sheetRow, col.index, 'your value ' + displayJson_(sent) + ' (edited ' + f.change.updated_at +
      ') was overwritten by ' + displayJson_(winner) + ', a newer value ' + whoWhen_(ctx, f.result.current_versions, col.name) + '.');
}

/** Returns "from MySQL at …" / "from another sheet (id) at …" for a winning version. */
function whoWhen_(/** @type {Ctx} */ ctx, /** @type {Object|undefined} */ versions, /** @type {string|null} */ column) {
  let v = versions && column ? versions[column] : null;
  if (versions && !column) for (const k in versions) { v = versions[k]; break; }
  if (!v) return 'from the server';
  let who = 'from MySQL';
  if (v.source === 'SHEET') who = v.origin === ctx.spreadsheetId ? 'from this sheet' : 'from another sheet (' + (v.origin || 'unknown') + ')';
  return who + ' at ' + v.updated_at;
}

/** Sets a sheetsync note on a cell, keeping a note a person wrote. */
function addNote_(/** @type {Ctx} */ ctx, /** @type {number} */ row, /** @type {number} */ col, /** @type {string} */ text) {
  const range = ctx.sheet.getRange(row, col);
  const old = range.getNote();
  const mine = NOTE_PREFIX + text;
  range.setNote(old && old.indexOf(NOTE_PREFIX) !== 0 ? old + '\n\n' + mine : mine);
}

/** Appends rows whose delete lost (they still exist with newer cells). */
function appendRestored_(/** @type {Ctx} */ ctx, /** @type {Layout} */ layout, /** @type {Array<Object>} */ restores) {
  const start = Math.max(ctx.sheet.getLastRow(), 1) + 1;
  const built = restores.map(function (f) { return buildRow_(ctx, layout, f.change.row_id, f.result.current); });
  writeNewRows_(ctx, layout, start, built);
  restores.forEach(function (f, i) {
    addNote_(ctx, start + i, layout.keyIndex, 'this row was deleted here but changed ' +
        whoWhen_(ctx, f.result.current_versions, null) + ', after the delete; it was kept.');
  });
}
