/**
 * Pull: MySQL -> sheet.
 *
 * Pages GET /v1/changes?table&since=<cursor>&limit&exclude_origin=<spreadsheet id> and applies
 * each page with one batched write (rows found by UUID, new rows appended, tombstoned rows
 * removed); the cursor advances only after the page is applied and the state saved, so a stop
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
 * Applies feed entries {row_id, deleted, cells} to the sheet and the synced state: one block
 * write for updated and appended rows, then row deletions. `gen` marks rows a resync saw.
 */
function applyEntries_(/** @type {Ctx} */ ctx, /** @type {Array<Object>} */ entries, /** @type {number} */ gen) {
  if (entries.length === 0) return 0;
  return withDocumentLock_(function () {
    const layout = requireLayout_(ctx);
    const rows = readRows_(ctx, layout);
    const view = { layout: layout, rows: rows, byKey: indexRows_(rows), pending: pendingIndex_(ctx.ss) };
    const plan = { dirty: new Set(), cells: new Set(), appends: [], removals: [] };
    for (const entry of entries) {
      const id = normalizeUuid_(entry.row_id);
      if (!id) continue;
      if (entry.deleted) applyDelete_(ctx, view, id, plan);
      else applyUpsert_(ctx, view, id, entry.cells || {}, plan, gen);
    }
    writePlan_(ctx, layout, rows, plan);
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
    plan.dirty.add(row.sheetRow);
    plan.cells.add(row.sheetRow + '\t' + c.index);
  }
}

/** Plans a row's new values (or its append), and records them as synced. */
function applyUpsert_(/** @type {Ctx} */ ctx, /** @type {Object} */ view, /** @type {string} */ id, /** @type {Object<string, *>} */ cells, /** @type {Object} */ plan, /** @type {number} */ gen) {
  const row = view.byKey[id];
  const old = ensureState_(ctx)[id];
  if (!row && (old || view.pending.deletes.has(id))) return;  // deleted here; the delete is on its way
  const st = rowState_(ctx, id);
  if (gen) st.g = gen;
  if (!row) {
    plan.appends.push({ id: id, cells: cells });
    for (const c of view.layout.columns) if (has_(cells, c.name)) st.c[c.name] = cells[c.name];
    return;
  }
  for (const c of view.layout.columns) {
    if (!has_(cells, c.name)) continue;
    const idx = c.index - 1;
    const local = cellToJson_(row.values[idx], c.kind, row.formats[idx], ctx.tz);
    const mine = view.pending.cells.has(id + '\t' + c.name) ||
        (old && !sameJson_(local, old.c[c.name]) && !(old.r && has_(old.r, c.name) && sameJson_(local, old.r[c.name])));
    st.c[c.name] = cells[c.name];
    if (mine) continue;  // a local edit not yet acknowledged: it is sent and the merge decides
    if (st.r) delete st.r[c.name];
    if (sameJson_(local, cells[c.name])) continue;
    const cell = jsonToCell_(cells[c.name], c.kind, ctx.tz);
    row.values[idx] = cell.value;
    if (cell.format) row.formats[idx] = cell.format;
    plan.dirty.add(row.sheetRow);
    plan.cells.add(row.sheetRow + '\t' + c.index);
  }
}

/** Returns whether `obj` has own property `k`. */
function has_(/** @type {Object} */ obj, /** @type {string} */ k) {
  return Object.prototype.hasOwnProperty.call(obj, k);
}

/**
 * Writes the plan: one setValues (and one setNumberFormats) over the block from the first
 * changed row to the last appended one, keeping formulas of cells it does not change and
 * formatting as plain text any string that Sheets would otherwise reinterpret; then tags the
 * appended rows and deletes the removed rows bottom up.
 */
function writePlan_(/** @type {Ctx} */ ctx, /** @type {Layout} */ layout, /** @type {SheetRow[]} */ rows, /** @type {Object} */ plan) {
  const start = Math.max(ctx.sheet.getLastRow(), 1) + 1;
  const built = plan.appends.map(function (a) { return buildRow_(ctx, layout, a.id, a.cells); });
  const touched = Array.from(plan.dirty);
  built.forEach(function (b, i) { touched.push(start + i); });
  if (touched.length) {
    const first = Math.min.apply(null, touched);
    const last = Math.max.apply(null, touched);
    const source = [];
    for (let r = first; r <= last; r++) source.push(r < start ? rows[r - 2] : built[r - start]);
    writeBlock_(ctx, layout, first, source, plan.cells, start);
  }
  if (built.length) {
    const appended = built.map(function (b, i) { return /** @type {SheetRow} */ ({ sheetRow: start + i, key: b.key, values: b.values, formats: b.formats }); });
    ensureRowTags_(ctx, appended);
  }
  deleteSheetRows_(ctx, plan.removals);
}

/** Writes rows first.. from `source` (SheetRow-like {values, formats}) in one call each. */
function writeBlock_(/** @type {Ctx} */ ctx, /** @type {Layout} */ layout, /** @type {number} */ first, /** @type {Array<Object>} */ source, /** @type {Set<string>} */ changedCells, /** @type {number} */ appendStart) {
  ensureSize_(ctx.sheet, first + source.length - 1, layout.width);
  const block = ctx.sheet.getRange(first, 1, source.length, layout.width);
  const formulas = block.getFormulas();
  const current = block.getNumberFormats();
  let formatsChanged = false;
  const values = [];
  const formats = [];
  source.forEach(function (src, i) {
    const r = first + i;
    const vrow = [];
    const frow = [];
    for (let j = 0; j < layout.width; j++) {
      const keepFormula = r < appendStart && formulas[i][j] && !changedCells.has(r + '\t' + (j + 1));
      const v = keepFormula ? formulas[i][j] : src.values[j];
      let f = src.formats[j] || current[i][j];
      if (!keepFormula && typeof v === 'string' && v !== '' && f !== TEXT_FORMAT && sheetsWouldParse_(v)) f = TEXT_FORMAT;
      if (f !== current[i][j]) formatsChanged = true;
      vrow.push(v);
      frow.push(f);
    }
    values.push(vrow);
    formats.push(frow);
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
  writeBlock_(ctx, layout, start, built, new Set(), start);
  ensureRowTags_(ctx, built.map(function (b, i) { return /** @type {SheetRow} */ ({ sheetRow: start + i, key: b.key, values: b.values, formats: b.formats }); }));
}
