/**
 * Pull: MySQL -> sheet.
 *
 * Pages GET /v1/changes?table&since=<cursor>&limit&exclude_origin=<spreadsheet id> and applies
 * each page writing only the cells it changes, in batched writes (rows found by UUID, new rows
 * appended, tombstoned rows removed); the cursor advances only after the page is applied and the state saved, so a stop
 * in between re-applies the page (idempotent). A 410 cursor_expired (or a cursor the gateway
 * does not understand, 400 invalid_cursor: another gateway) starts a resync from
 * GET /v1/rows (every live row, paged by key); the first page's `cursor` resumes the feed once
 * the last page is applied, and synced rows the snapshot did not list are removed.
 * Values written here are written by the script — Apps Script fires no onEdit for them — and go
 * into the synced state, so they are never sent back. A cell with a local edit that is not yet
 * acknowledged keeps the person's value (the edit is on its way and the merge decides).
 */

/** Pulls until the feed is drained or the run's time is up. Returns {done, applied, error}. */
function pull_(/** @type {Ctx} */ ctx) {
  const doc = PropertiesService.getDocumentProperties();
  let applied = 0;
  let expired = 0;
  while (hasTime_(ctx)) {
    if (doc.getProperty(PROP.resync)) {
      const r = resync_(ctx);
      applied += r.applied;
      if (!r.done) return { done: false, applied: applied, error: r.error };
      continue;
    }
    const cursor = doc.getProperty(PROP.cursor) || '';
    const out = callGateway_(ctx, 'get', '/v1/changes' + queryString_({
      table: ctx.settings.table, since: cursor, limit: PULL_PAGE_SIZE, exclude_origin: ctx.spreadsheetId,
    }));
    if ((out.code === 410 || out.errorCode === 'invalid_cursor') && expired++ === 0) {
      noteError_(ctx, 'The change feed cursor cannot be used (' + out.message + '); resyncing the whole table.');
      startResync_(false);
      continue;
    }
    if (out.kind !== 'ok') return { done: false, applied: applied, error: pullError_(ctx, 'GET /v1/changes', out) };
    const page = out.json || {};
    const entries = page.changes || [];
    applyEntries_(ctx, entries, 0);
    if (page.next_cursor) doc.setProperty(PROP.cursor, String(page.next_cursor));
    applied += entries.length;
    if (!page.has_more) return { done: true, applied: applied, error: '' };
  }
  return { done: false, applied: applied, error: '' };
}

/** Records and returns a pull failure, naming a route the gateway does not have. */
function pullError_(/** @type {Ctx} */ ctx, /** @type {string} */ route, /** @type {Outcome} */ out) {
  const msg = isMissingRoute_(out)
      ? 'The gateway has no ' + route + ' route yet (404 no route); changes made in MySQL cannot reach this sheet.'
      : 'Pulling changes (' + route + ') failed: ' + out.message + (out.kind === 'retry' ? ' (will retry)' : '');
  noteError_(ctx, msg);
  return msg;
}

/**
 * Starts a snapshot resync (kept in Document Properties until it finishes). `initial`: the
 * first sync after Connect, which may fall back to reading the feed from its beginning.
 */
function startResync_(/** @type {boolean} */ initial = false) {
  PropertiesService.getDocumentProperties().setProperty(PROP.resync,
      JSON.stringify({ gen: Date.now(), after: '', cursor: null, initial: !!initial }));
}

/** Continues the resync. Returns {done, applied, error}. */
function resync_(/** @type {Ctx} */ ctx) {
  const doc = PropertiesService.getDocumentProperties();
  const rs = parseJson_(doc.getProperty(PROP.resync), null);
  let applied = 0;
  if (!rs) return { done: true, applied: 0, error: '' };
  ctx.resyncGen = rs.gen;
  while (hasTime_(ctx)) {
    const out = callGateway_(ctx, 'get', '/v1/rows' + queryString_({ table: ctx.settings.table, after: rs.after, limit: PULL_PAGE_SIZE }));
    if (out.kind !== 'ok' && rs.initial && rs.cursor === null && isMissingRoute_(out)) {
      doc.deleteProperty(PROP.resync);  // no snapshot route: the feed from its start lists every row
      ctx.resyncGen = 0;
      return { done: true, applied: 0, error: '' };
    }
    if (out.kind !== 'ok') return { done: false, applied: applied, error: pullError_(ctx, 'GET /v1/rows', out) };
    const page = out.json || {};
    if (rs.cursor === null) rs.cursor = String(page.cursor || '');
    const rows = (page.rows || []).map(function (r) { return { row_id: r.row_id, cells: r.cells || {}, deleted: false }; });
    applyEntries_(ctx, rows, rs.gen);
    applied += rows.length;
    rs.after = String(page.next_after || '');
    if (!page.has_more || !rs.after) {
      finishResync_(ctx, rs.gen);
      doc.setProperty(PROP.cursor, rs.cursor);
      doc.deleteProperty(PROP.resync);
      ctx.resyncGen = 0;
      return { done: true, applied: applied, error: '' };
    }
    doc.setProperty(PROP.resync, JSON.stringify(rs));
  }
  return { done: false, applied: applied, error: '' };
}

/** Removes synced rows the snapshot did not list (deleted while the cursor was expired). */
function finishResync_(/** @type {Ctx} */ ctx, /** @type {number} */ gen) {
  const state = ensureState_(ctx);
  const gone = [];
  for (const id in state) if (state[id].g !== gen) gone.push({ row_id: id, deleted: true });
  applyEntries_(ctx, gone, 0);
}

/**
 * Applies feed entries {row_id, deleted, cells} to the sheet and the synced state: the changed
 * cells, then the appended rows, then row deletions. `gen` marks rows a resync saw.
 */
function applyEntries_(/** @type {Ctx} */ ctx, /** @type {Array<Object>} */ entries, /** @type {number} */ gen) {
  if (entries.length === 0) return 0;
  return withDocumentLock_(function () {
    const layout = requireLayout_(ctx);
    const rows = readRows_(ctx, layout);
    const view = { layout: layout, rows: rows, byKey: indexRows_(rows), pending: pendingIndex_(ctx.ss) };
    /** @type {{cells: Map<string, CellWrite>, appends: Array<Object>, removals: number[]}} */
    const plan = { cells: new Map(), appends: [], removals: [] };
    for (const entry of entries) {
      const id = normalizeUuid_(entry.row_id);
      if (!id) continue;
      if (entry.deleted) applyDelete_(ctx, view, id, plan);
      else applyUpsert_(ctx, view, id, entry.cells || {}, plan, gen);
    }
    writePlan_(ctx, layout, plan);
    saveState_(ctx);
    return entries.length;
  });
}

/** Plans a row's removal; a row with queued local edits is emptied instead (those edits decide). */
function applyDelete_(/** @type {Ctx} */ ctx, /** @type {Object} */ view, /** @type {string} */ id, /** @type {Object} */ plan) {
  const row = view.byKey[id];
  dropRowState_(ctx, id);
  if (!row) return;
  if (!view.pending.rows.has(id)) {
    plan.removals.push(row.sheetRow);
    return;
  }
  for (const c of view.layout.columns) {
    if (view.pending.cells.has(id + '\t' + c.name) || row.values[c.index - 1] === '') continue;
    row.values[c.index - 1] = '';
    planCell_(plan, row, c.index, null);
  }
}

/** Plans a row's new values (or its append), and records them as synced. */
function applyUpsert_(/** @type {Ctx} */ ctx, /** @type {Object} */ view, /** @type {string} */ id, /** @type {Object<string, *>} */ cells, /** @type {Object} */ plan, /** @type {number} */ gen) {
  const row = view.byKey[id];
  const old = ensureState_(ctx)[id];
  if (!row && (old || view.pending.deletes.has(id))) {
    // Deleted here; the delete is on its way (reconcile sends it from the state): a resync that
    // lists the row must not take it for a row deleted in MySQL and drop that state.
    if (old && gen) rowState_(ctx, id).g = gen;
    return;
  }
  const st = rowState_(ctx, id);
  if (gen) st.g = gen;
  if (!row) {
    plan.appends.push({ id: id, cells: cells });
    for (const c of view.layout.columns) {
      if (has_(cells, c.name)) setSynced_(st, c.name, cells[c.name], shownJson_(cells[c.name], c.kind, ctx.tz));
    }
    return;
  }
  for (const c of view.layout.columns) {
    if (!has_(cells, c.name)) continue;
    const cell = pullCell_(ctx, view, row, c, old, st, cells[c.name]);
    if (cell) planCell_(plan, row, c.index, cell.format);
  }
}

/**
 * @typedef {Object} CellWrite  A cell the pull changes: its row's values hold the new value.
 * @property {SheetRow} row
 * @property {number} col 1-based column
 * @property {string|null} format the number format to set, null: keep the cell's
 */

/** Puts the cell (row, col) into the plan; row.values already holds its new value. */
function planCell_(/** @type {Object} */ plan, /** @type {SheetRow} */ row, /** @type {number} */ col, /** @type {string|null} */ format) {
  plan.cells.set(row.sheetRow + '\t' + col, { row: row, col: col, format: format });
}

/**
 * Records a pulled cell value as synced and puts it into row.values unless the cell has a local
 * edit not yet acknowledged (it is sent and the merge decides) or already shows that value.
 * Returns what to write ({value, format}), or null when the cell stays.
 */
function pullCell_(/** @type {Ctx} */ ctx, /** @type {Object} */ view, /** @type {SheetRow} */ row, /** @type {SyncColumn} */ c, /** @type {RowState|undefined} */ old, /** @type {RowState} */ st, /** @type {*} */ json) {
  const idx = c.index - 1;
  const local = cellToJson_(row.values[idx], c.kind, row.formats[idx], ctx.tz);
  const mine = view.pending.cells.has(row.key + '\t' + c.name) ||
      (old && !sameJson_(local, syncedShown_(old, c.name)) && !(old.r && has_(old.r, c.name) && sameJson_(local, old.r[c.name])));
  if (mine) {
    setSynced_(st, c.name, json);
    return null;
  }
  if (st.r) delete st.r[c.name];
  const shown = shownJson_(json, c.kind, ctx.tz);
  if (sameJson_(local, json) || sameJson_(local, shown) || sameInstant_(row.values[idx], json, c.kind, ctx.tz)) {
    setSynced_(st, c.name, json, local);  // the cell already shows it: keep the person's form
    return null;
  }
  const cell = jsonToCell_(json, c.kind, ctx.tz);
  row.values[idx] = cell.value;
  setSynced_(st, c.name, json, shown);
  return cell;
}

/** Returns whether `obj` has own property `k`. */
function has_(/** @type {Object} */ obj, /** @type {string} */ k) {
  return Object.prototype.hasOwnProperty.call(obj, k);
}

/**
 * Writes the plan: the changed cells only — a person typing elsewhere in the sheet meanwhile
 * (LockService does not hold people) keeps what they typed — in one setValues per block of
 * rows that change the same run of columns; then the appended rows below whatever the sheet
 * holds by now, in one block, tagged; then deletes the removed rows bottom up.
 */
function writePlan_(/** @type {Ctx} */ ctx, /** @type {Layout} */ layout, /** @type {Object} */ plan) {
  for (const run of cellRuns_(Array.from(plan.cells.values()))) writeRun_(ctx, run);
  const start = Math.max(ctx.sheet.getLastRow(), 1) + 1;
  const built = plan.appends.map(function (a) { return buildRow_(ctx, layout, a.id, a.cells); });
  writeNewRows_(ctx, layout, start, built);
  deleteSheetRows_(ctx, plan.removals);
}

/**
 * Groups cell writes into blocks {writes: CellWrite[][], col, width}: per row, runs of adjacent
 * columns; consecutive rows with the same run share a block.
 */
function cellRuns_(/** @type {CellWrite[]} */ writes) {
  writes.sort(function (a, b) { return a.row.sheetRow - b.row.sheetRow || a.col - b.col; });
  const runs = [];
  for (const w of writes) {
    const last = runs[runs.length - 1];
    const prev = last && last[last.length - 1];
    if (prev && prev.row === w.row && prev.col + 1 === w.col) last.push(w);
    else runs.push([w]);
  }
  const blocks = [];
  for (const run of runs) {
    const b = blocks[blocks.length - 1];
    const top = b && b.writes[b.writes.length - 1][0];
    if (b && b.col === run[0].col && b.width === run.length && top.row.sheetRow + 1 === run[0].row.sheetRow) b.writes.push(run);
    else blocks.push({ writes: [run], col: run[0].col, width: run.length });
  }
  return blocks;
}

/** Writes one block of cellRuns_, setting number formats only where they change. */
function writeRun_(/** @type {Ctx} */ ctx, /** @type {{writes: CellWrite[][], col: number, width: number}} */ block) {
  let formatsChanged = false;
  const values = [];
  const formats = [];
  for (const run of block.writes) {
    values.push(run.map(function (w) { return w.row.values[w.col - 1]; }));
    formats.push(run.map(function (w) {
      const v = w.row.values[w.col - 1];
      let f = w.format || w.row.formats[w.col - 1];
      if (typeof v === 'string' && v !== '' && f !== TEXT_FORMAT && sheetsWouldParse_(v)) f = TEXT_FORMAT;
      if (f !== w.row.formats[w.col - 1]) formatsChanged = true;
      return f;
    }));
  }
  const range = ctx.sheet.getRange(block.writes[0][0].row.sheetRow, block.col, block.writes.length, block.width);
  if (formatsChanged) range.setNumberFormats(formats);
  range.setValues(values);
}

/** Writes new rows from `source` ({values, formats}, formats null: keep the cell's) at sheet
 *  row `first` and below, in one call (and one for the formats when they change). */
function writeBlock_(/** @type {Ctx} */ ctx, /** @type {Layout} */ layout, /** @type {number} */ first, /** @type {Array<Object>} */ source) {
  ensureSize_(ctx.sheet, first + source.length - 1, layout.width);
  const block = ctx.sheet.getRange(first, 1, source.length, layout.width);
  const current = block.getNumberFormats();
  let formatsChanged = false;
  const values = source.map(function (src) { return src.values; });
  const formats = source.map(function (src, i) {
    return src.values.map(function (/** @type {*} */ v, /** @type {number} */ j) {
      let f = src.formats[j] || current[i][j];
      if (typeof v === 'string' && v !== '' && f !== TEXT_FORMAT && sheetsWouldParse_(v)) f = TEXT_FORMAT;
      if (f !== current[i][j]) formatsChanged = true;
      return f;
    });
  });
  if (formatsChanged) block.setNumberFormats(formats);
  block.setValues(values);
}

/** Returns a new sheet row {key, values, formats} for a table row (formats null: keep). */
function buildRow_(/** @type {Ctx} */ ctx, /** @type {Layout} */ layout, /** @type {string} */ id, /** @type {Object<string, *>} */ cells) {
  const values = new Array(layout.width).fill('');
  const formats = new Array(layout.width).fill(null);
  values[layout.keyIndex - 1] = id;
  formats[layout.keyIndex - 1] = TEXT_FORMAT;
  for (const c of layout.columns) {
    if (!has_(cells, c.name)) continue;
    const cell = jsonToCell_(cells[c.name], c.kind, ctx.tz);
    values[c.index - 1] = cell.value;
    formats[c.index - 1] = cell.format || KIND_FORMATS[c.kind] || null;
  }
  return { key: id, values: values, formats: formats };
}

/** Appends built rows at sheet row `start` (one block write). */
function writeNewRows_(/** @type {Ctx} */ ctx, /** @type {Layout} */ layout, /** @type {number} */ start, /** @type {Array<Object>} */ built) {
  if (built.length === 0) return;
  writeBlock_(ctx, layout, start, built);
  ensureRowTags_(ctx, built.map(function (b, i) { return /** @type {SheetRow} */ ({ sheetRow: start + i, key: b.key, values: b.values, formats: b.formats }); }));
}
