/**
 * Reconcile: what onEdit cannot see.
 *
 * Apps Script does not say which row was deleted, and some writes fire no onEdit (the Sheets
 * API, imports, a sort of the data). Reconcile (time-driven, on "Sync now", after a row
 * deletion) re-reads the sheet, repairs row keys (Layout.gs), and compares it with the synced
 * state: a synced UUID missing from the sheet becomes a delete; a cell that differs from its
 * last acknowledged value becomes an edit (base = that value, updated_at = now); a keyed row
 * the server never acknowledged is sent whole. Cells and rows already queued are skipped, and
 * so is a cell still holding a value the gateway rejected. Changes go through the queue.
 */

/** Runs a reconcile pass; returns the number of changes queued. Caller holds the script lock. */
function reconcile_(/** @type {Ctx} */ ctx) {
  return withDocumentLock_(function () {
    let layout = requireLayout_(ctx);
    if (adoptColumns_(ctx, layout, ctx.settings.columns)) {
      layout = requireLayout_(ctx);
      startResync_();  // a newly synced column: fetch its values
    }
    reportLayout_(ctx, layout);
    const rows = readRows_(ctx, layout);
    repairKeys_(ctx, layout, rows, new Set());
    const tags = ensureRowTags_(ctx, rows);
    ctx.status.rowTags = { tagged: tags.tagged, rows: rows.filter(function (r) { return r.key; }).length, full: tags.full };
    const changes = diffAgainstState_(ctx, layout, rows, pendingIndex_(ctx.ss));
    const times = stamps_(Date.now(), changes.length);
    changes.forEach(function (c, i) { c.updated_at = times[i]; });
    enqueue_(ctx.ss, changes);
    return changes.length;
  });
}

/** Returns the changes (not yet stamped) that bring the server to what the sheet shows. */
function diffAgainstState_(/** @type {Ctx} */ ctx, /** @type {Layout} */ layout, /** @type {SheetRow[]} */ rows, /** @type {Object} */ pending) {
  const state = ensureState_(ctx);
  const seen = new Set();
  const changes = [];
  for (const r of rows) {
    if (!r.key || seen.has(r.key)) continue;
    seen.add(r.key);
    const st = state[r.key];
    const json = rowJson_(ctx, layout, r);
    if (!st) {
      const cells = nonEmpty_(json);
      if (!pending.rows.has(r.key) && Object.keys(cells).length) changes.push(newChange_(r.key, cells, ''));
      continue;
    }
    const diff = diffRow_(layout, r.key, json, st, pending);
    if (diff) changes.push(newChange_(r.key, diff.cells, '', diff.base));
  }
  for (const id in state) {
    if (!seen.has(id) && !pending.deletes.has(id)) changes.push(newChange_(id, null, ''));
  }
  return changes;
}

/** Returns {cells, base} of a row's cells that differ from the synced state, or null. */
function diffRow_(/** @type {Layout} */ layout, /** @type {string} */ id, /** @type {Object<string, *>} */ json, /** @type {RowState} */ st, /** @type {Object} */ pending) {
  /** @type {Object<string, *>} */
  const cells = {};
  /** @type {Object<string, *>} */
  const base = {};
  let n = 0;
  for (const c of layout.columns) {
    const v = json[c.name];
    if (pending.cells.has(id + '\t' + c.name) || sameJson_(v, syncedShown_(st, c.name))) continue;
    if (st.r && has_(st.r, c.name) && sameJson_(v, st.r[c.name])) continue;  // still the rejected value
    cells[c.name] = v;
    base[c.name] = has_(st.c, c.name) ? st.c[c.name] : null;
    n++;
  }
  return n ? { cells: cells, base: base } : null;
}

/** Puts renamed headers and unsynced columns into the status warnings. */
function reportLayout_(/** @type {Ctx} */ ctx, /** @type {Layout} */ layout) {
  const w = [];
  for (const r of layout.renamed) {
    w.push('Column ' + r.column + ' header "' + r.header + '" is not its synced name "' + r.name +
        '"; it still syncs as "' + r.name + '". Rename the header back, or reconnect to map it anew.');
  }
  for (const u of layout.unmapped) {
    w.push('Column ' + u.column + ' "' + u.header + '" is not synced (not a column of table "' +
        ctx.settings.table + '" known at Connect; reconnect to add it).');
  }
  ctx.status.warnings = w;
}
